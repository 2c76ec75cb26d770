"""Protocol 'paper', Task 2 (LLM-as-a-judge, Table 2): every judging method's calls and prompts."""

from __future__ import annotations

import pytest

from spri import arun
from tests.support.fakes import scripted
from tests.support.paper import PRINCIPLE_INSTRUCT, critic_scoring, is_prometheus_prompt, kinds, paper, texts

INPUT = "Plan a three-day study schedule for six chapters."
SYSTEM_PROMPT = "SYSTEM-PROMPT: you are a study coach."
ANSWER = "ANSWER-TEXT: day one, chapters one and two; day two ..."
GOLD = {
    "criteria": "GOLD-CRITERION: does the plan cover all six chapters?",
    **{f"score{i}_description": f"gold level {i}" for i in range(1, 6)},
}


def judge(score: str = "4.5"):
    """A judge answering in the paper's tagged format; each judgment is numbered."""
    count = iter(range(1, 100))
    return scripted(default=lambda m: f"<feedback>JUDGMENT {next(count)}</feedback><score>{score}</score>")


async def grade(method: str, model, critic=None, **options):
    options = {"category": "planning", "extra": {"system_prompt": SYSTEM_PROMPT}, **options}
    return await arun(
        INPUT, profile="rubric", response_to_judge=ANSWER, model=model, critic_model=critic or critic_scoring([]),
        **paper(method=method, **options),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("method", "options", "shows", "hides"),
    [
        ("vanilla", {}, ["1 means not at all"], ["Score 1:"]),
        ("mt-bench-rubric", {}, ["### Assistant’s Answer:", "impartial judge"], ["###Score Rubrics:"]),
        ("flask-rubric", {}, ["[Insightfulness:", "Score 5:"], ["Logical robustness"]),
        ("fixed-principles", {"principles": GOLD}, ["[GOLD-CRITERION", "Score 3: gold level 3"], ["Criterion:"]),
        ("seed-rubric", {"seeds": PRINCIPLE_INSTRUCT}, ["###Score Rubrics:"], ["1 means not at all"]),
    ],
)
async def test_single_call_judges_are_one_call(method, options, shows, hides):
    model, critic = judge(), critic_scoring([])
    result = await grade(method, model, critic, **options)
    assert result.calls == 1 and result.calls_per_role == {"base": 1, "critic": 0} and critic.calls == []
    (call,) = model.calls
    assert kinds(call) == ["system", "human"] and "<feedback>" in call[0].text
    prompt = texts(call)
    assert INPUT in prompt and ANSWER in prompt
    assert SYSTEM_PROMPT not in prompt  # the judge sees the input only, never its system prompt
    assert all(part in prompt for part in shows) and not any(part in prompt for part in hides)
    assert result.score == 4.5 and result.feedback == "JUDGMENT 1"  # decimals kept, as in the paper
    assert result.stop_reason == {"response": "not_judged"} | (
        {"principles": "given"} if method in ("flask-rubric", "fixed-principles", "seed-rubric") else {}
    )


async def test_the_seed_rubric_is_one_seed_principle_picked_at_random_reproducibly():
    with open(PRINCIPLE_INSTRUCT, encoding="utf-8") as handle:
        principles = [line.split('"principle": "')[1].split('", "')[0][:60] for line in handle]
    picks = []
    for pick in range(6):
        result = await grade("seed-rubric", judge(), seeds=PRINCIPLE_INSTRUCT, random_pick=pick)
        assert result.calls == 1
        picks.append(next(i for i, p in enumerate(principles) if p in result.rubric))
    again = await grade("seed-rubric", judge(), seeds=PRINCIPLE_INSTRUCT, random_seed=3)  # its former name
    assert principles[picks[3]] in again.rubric  # the same number picks the same principle
    assert len(set(picks)) > 1  # and other numbers pick others


async def test_self_refine_is_the_vanilla_judgment_and_five_refinements_without_a_critic():
    model, critic = judge("3"), critic_scoring([])
    result = await grade("self-refine", model, critic)
    assert result.calls == 6 and result.calls_per_role == {"base": 6, "critic": 0} and critic.calls == []
    assert result.feedback == "JUDGMENT 6" and result.score == 3 and len(result.drafts["response"]) == 6
    for index, call in enumerate(model.calls[1:], 1):
        assert kinds(call) == ["system", "human"]
        assert INPUT in call[1].text and ANSWER in call[1].text and f"JUDGMENT {index}" in call[1].text
        assert "Refine" in call[1].text


async def test_spri_writes_a_rubric_without_the_response_and_criticises_the_judgment():
    base = scripted(
        "RUBRIC 1",
        "RUBRIC 2",
        "<feedback>JUDGMENT 1</feedback><score>2</score>",
        "<feedback>JUDGMENT 2, revised</feedback><score>4.5</score>",
    )
    critic = critic_scoring([2, 5, 3, 4])
    result = await grade("spri", base, critic, seeds=PRINCIPLE_INSTRUCT)
    assert result.calls == 8 and result.calls_per_role == {"base": 4, "critic": 4}
    write, rewrite, first, second = base.calls
    # stage 1: the input with its system prompt and the seed principles, never the response to judge
    assert SYSTEM_PROMPT in write[1].text and INPUT in write[1].text and ANSWER not in texts(write)
    assert "### Question:" in write[0].text and "### Principles:" in write[0].text  # Principle-Instruct seeds
    assert kinds(rewrite) == ["system", "human"] and "FEEDBACK-2" in rewrite[1].text and ANSWER not in texts(rewrite)
    rubric_critique = critic.calls[0][0].text
    assert is_prometheus_prompt(critic.calls[0]) and "@@@" in rubric_critique and "RUBRIC 1" in rubric_critique
    assert ANSWER not in rubric_critique
    # stage 2: the judgment uses the rubric; its critic sees the judgment between @@@ marks
    assert "RUBRIC 2" in first[1].text and ANSWER in first[1].text and SYSTEM_PROMPT not in texts(first)
    judgment_critique = critic.calls[2][0].text
    assert "### Evaluation Result:" in judgment_critique and "JUDGMENT 1" in judgment_critique
    assert "FEEDBACK-3" in second[1].text and "### Refined Evaluation Result:" in second[1].text
    assert result.score == 4.5 and result.rubric == "RUBRIC 2"
    assert result.stop_reason == {"principles": "accepted", "response": "accepted"}


JUDGMENT = "<feedback>JUDGMENT 1</feedback><score>2</score>"


async def test_spri_shows_the_judgment_as_the_judge_wrote_it():
    base = scripted("RUBRIC 1", JUDGMENT, "<feedback>JUDGMENT 2</feedback><score>4.5</score>")
    critic = critic_scoring([5, 3, 4])
    result = await grade("spri", base, critic, seeds=PRINCIPLE_INSTRUCT)
    assert result.calls == 6 and result.calls_per_role == {"base": 3, "critic": 3}
    # the critic sees the judgment after "### Evaluation Result:", as written, never re-serialised
    judged = critic.calls[1][0].text
    assert f"### Evaluation Result:\n{JUDGMENT}\n@@@" in judged and "Score: 2" not in judged
    # the refiner sees it the same way, and the critic's feedback as the paper passes it on: all
    # that precedes the first [RESULT]
    refine = base.calls[2][1].text
    assert refine.endswith(
        f"### Evaluation Result:\n{JUDGMENT}\n\n### Feedback: Feedback: FEEDBACK-3 needs work.\n\n"
        "### Refined Evaluation Result:"
    )
    assert "<feedback>JUDGMENT 2</feedback><score>4.5</score>\n@@@" in critic.calls[2][0].text
    assert result.drafts["response"] == [JUDGMENT, "<feedback>JUDGMENT 2</feedback><score>4.5</score>"]
    assert (result.score, result.feedback) == (4.5, "JUDGMENT 2")


async def test_self_refine_passes_each_judgment_on_as_written():
    model = judge("3")
    result = await grade("self-refine", model)
    assert result.calls == 6
    for index, call in enumerate(model.calls[1:], 1):
        shown = f"<feedback>JUDGMENT {index}</feedback><score>3</score>"
        assert f"\n\n{shown}\n\nRefine the feedback" in call[1].text and "Score: 3" not in call[1].text


UNREAD = ["Feedback: fine.\nScore: 4", "<score> 4 </score>", "Feedback: fine. [RESULT] 4", "<SCORE>4</SCORE>"]
"""Judgments the paper's Table 2 parser does not read: only <score>N</score> (or <score>[N]</score>) is."""


@pytest.mark.parametrize("reply", UNREAD)
@pytest.mark.parametrize(
    ("method", "options"),
    [
        ("vanilla", {}),
        ("mt-bench-rubric", {}),
        ("flask-rubric", {}),
        ("fixed-principles", {"principles": GOLD}),
        ("seed-rubric", {"seeds": PRINCIPLE_INSTRUCT}),
    ],
)
async def test_a_judgment_the_paper_cannot_read_gets_no_reminder(method, options, reply):
    model = scripted(default=reply)
    result = await grade(method, model, **options)
    assert result.calls == 1 and len(model.calls) == 1  # one call, as the authors made
    assert result.score is None and result.response == reply


async def test_unreadable_judgments_cost_no_extra_calls_in_self_refine_and_spri():
    result = await grade("self-refine", scripted(default=UNREAD[0]))
    assert result.calls == 6 and result.score is None
    base = scripted("RUBRIC 1", UNREAD[2], default="<feedback>ok</feedback><score>[4]</score>")
    critic = critic_scoring([4, 2, 4])
    result = await grade("spri", base, critic, seeds=PRINCIPLE_INSTRUCT)
    assert result.calls == 6  # rubric + critique, unread judgment + critique, refinement + critique
    assert result.drafts["response"] == [UNREAD[2], "<feedback>ok</feedback><score>[4]</score>"]
    assert (result.score, result.stop_reason) == (4, {"principles": "accepted", "response": "accepted"})
    assert f"### Evaluation Result:\n{UNREAD[2]}\n@@@" in critic.calls[1][0].text
