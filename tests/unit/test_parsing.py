"""Reading the critic's score and feedback from free text."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spri.models.parsing import parse_critique


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
