"""Reading the critic's score and feedback from free text."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spri.models.parsing import parse_critique
from spri.models.verdicts import READINGS
from spri.state.rendering import Shown


@pytest.mark.parametrize(
    "text,score",
    [
        ("Feedback: fine\nScore: 4", 4),
        ("Good coverage. [RESULT] 3", 3),
        ("**Score:** 5", 5),
        ("Final score - 2/5", 2),
        ("I would give this a score of 3.", 3),
        ("Rating = 1", 1),
        ("<score>4</score>", 4),
        ('{"feedback": "ok", "score": 5}', 5),
        ("Score: 3 out of 5", 3),
        ("Score: 4.6", 5),
        ("The scale says 5: excellent. My verdict.\nScore: 2", 2),
        ("Score: 5 would need more detail, so\nScore: 3", 3),  # the last marker wins
    ],
)
def test_reads_common_formats(text, score):
    assert parse_critique(text).score == score


@pytest.mark.parametrize(
    "text",
    ["No number at all.", "Score: 0", "Score: 7", "Score: 8/10", "", "5", "It is a 4-star answer", "Score: high"],
)
def test_unreadable_or_out_of_range_gives_none(text):
    assert parse_critique(text).score is None


def test_feedback_is_the_text_before_the_score():
    c = parse_critique("Feedback: Name the deadline explicitly.\nScore: 3")
    assert c.feedback == "Name the deadline explicitly."
    assert c.raw == "Feedback: Name the deadline explicitly.\nScore: 3"


@settings(max_examples=400, deadline=None)
@given(st.text())
def test_never_raises_and_stays_in_range(text):
    score = parse_critique(text).score
    assert score is None or (isinstance(score, int) and 1 <= score <= 5)


@settings(max_examples=200, deadline=None)
@given(st.text(), st.integers(min_value=1, max_value=5))
def test_a_final_score_line_always_wins(prefix, score):
    assert parse_critique(f"{prefix}\nScore: {score}").score == score


@pytest.mark.parametrize(
    "text,score",
    [
        ("Feedback: close. [RESULT] 4.5", 4.5),
        ("<feedback>ok</feedback><score>[3.25]</score>", 3.25),
        ("<score>4.0</score>", 4),
        ("Score: 5", 5),
        ("[RESULT] 5.5", None),
    ],
)
def test_decimals_are_kept_where_asked(text, score):
    read = parse_critique(text, decimals=True).score
    assert read == score and type(read) is type(score)


def test_without_decimals_a_decimal_is_rounded():
    assert parse_critique("[RESULT] 4.5").score == 5
    assert parse_critique("[RESULT] 3.4").score == 3


def test_prometheus_and_tagged_feedback():
    c = parse_critique("Feedback: Too generic for this post. [RESULT]: 2")
    assert (c.score, c.feedback) == (2, "Too generic for this post.")
    c = parse_critique("<feedback>[Names the key fact.]</feedback><score>[4]</score>")
    assert (c.score, c.feedback) == (4, "Names the key fact.")


def test_a_refusal_of_tools_dies_with_its_model():
    """Text-only marks are kept per model object, not per id(): a new model never inherits one."""
    import gc

    from langchain_core.language_models import FakeListChatModel

    from spri.models.verdicts import _VerdictTool

    class ToolModel(FakeListChatModel):
        def bind_tools(self, tools, **kwargs):  # type: ignore[no-untyped-def, override]
            return self

    tools = _VerdictTool()
    refusing = ToolModel(responses=["x"])
    assert tools.supported(refusing)
    tools.refused(refusing)
    assert not tools.supported(refusing)
    key = id(refusing)
    del refusing
    gc.collect()
    assert key not in tools._entries
    assert tools.supported(ToolModel(responses=["x"]))


PAPER_CRITIC = {"forms": READINGS["paper-critic"].forms, "first": True}


@pytest.mark.parametrize(
    ("text", "score"),
    [
        ("[SCORE] 2 then [RESULT] 4", 4),  # the forms' order, not the text's
        ("[RESULT] 2 then [RESULT] 4", 2),  # the first of a form, not the final one
        ("[RESULT] 3.5", 3),
        ("[RESULT] 45", 4),  # one digit, as the authors' pattern
        ("[RESULT]: 4", None),
        ("[result] 4", None),
        ("Fine [4] but\n\nOverall Score: 2", 2),  # "[4]" counts only at the very end
        ("Fine.\n\nOverall Score: 2 [4]", 2),  # a final "[N]" after no blank line comes last
        ("Fine.\n\n[4]", 4),
    ],
)
def test_the_papers_critic_parser(text, score):
    assert parse_critique(text, **PAPER_CRITIC).score == score


def test_the_papers_parser_passes_over_a_shown_marker_to_the_next_one():
    prompt = Shown.join([Shown("Rate this:"), Shown.of("[RESULT] 5 [SCORE] 5")], " ")
    assert parse_critique("You said [RESULT] 5. Mine: [RESULT] 2", prompt, **PAPER_CRITIC).score == 2
    assert parse_critique("You said [RESULT] 5 [SCORE] 5. Mine: [SCORE] 3", prompt, **PAPER_CRITIC).score == 3
    assert parse_critique("You said [RESULT] 5 [SCORE] 5.", prompt, **PAPER_CRITIC).score is None
    assert parse_critique("You said [RESULT] 5.", Shown.of("[result] 5"), **PAPER_CRITIC).score is None
    assert parse_critique("As asked: [RESULT] 4", Shown("Answer with [RESULT] 4 or so."), **PAPER_CRITIC).score == 4


@pytest.mark.parametrize(
    ("rule", "feedback"),
    [("clean", "thin."), ("before-result", "Feedback: thin."), ("whole", "Feedback: thin. [RESULT] 2")],
)
def test_feedback_rules(rule, feedback):
    assert parse_critique("Feedback: thin. [RESULT] 2", feedback=rule).feedback == feedback
