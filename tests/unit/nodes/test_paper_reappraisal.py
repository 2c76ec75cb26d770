"""Protocol 'paper', Task 1 (reappraisal, Table 1): every method's calls and what each call sees."""

from __future__ import annotations

import json

import pytest
from langchain_core.language_models import BaseChatModel

from spri import SpriError, arun
from tests.support.fakes import scripted
from tests.support.paper import (
    CONSTITUTIONS,
    critic_scoring,
    is_prometheus_prompt,
    kinds,
    numbered_base,
    paper,
    texts,
)

POST = "My roommate keeps eating my food and I exploded at him yesterday."
GOAL = "GOAL-TEXT: help the narrator weigh their own share in what happened."


def constitutions() -> list[dict]:
    with open(CONSTITUTIONS, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


async def reappraise(method: str, base, critic=None, **options):
    return await arun(
        POST, profile="reappraisal", goal=GOAL, model=base, critic_model=critic or critic_scoring([]),
        **paper(method=method, **options),
    )  # fmt: skip


async def test_vanilla_is_one_call_that_never_sees_the_goal():
    base, critic = numbered_base(), critic_scoring([])
    result = await reappraise("vanilla", base, critic)
    assert result.calls == 1 and result.calls_per_role == {"base": 1, "critic": 0} and critic.calls == []
    (call,) = base.calls
    assert kinds(call) == ["system", "human"]
    assert "[Text] " + POST in call[1].text and "[Question]" in call[1].text
    assert "GOAL-TEXT" not in texts(call) and "128 words" not in texts(call)
    assert result.response == "DRAFT 1" and result.stop_reason == {"response": "not_judged"}


async def test_self_refine_is_a_draft_and_five_fixed_passes_without_a_critic():
    base, critic = numbered_base(), critic_scoring([])
    result = await reappraise("self-refine", base, critic)
    assert result.calls == 6 and result.calls_per_role == {"base": 6, "critic": 0} and critic.calls == []
    assert result.drafts["response"] == [f"DRAFT {i}" for i in range(1, 7)] and result.response == "DRAFT 6"
    assert result.critiques == {} and result.stop_reason == {"response": "not_judged"}
    for index, call in enumerate(base.calls[1:], 1):
        assert kinds(call) == ["system", "human"]  # each pass is a conversation of its own
        assert f"[Reappraisal Response] DRAFT {index}" in call[1].text and "[Feedback]" in call[1].text
        assert "GOAL-TEXT" not in texts(call)
    assert base.calls[1][1].text.replace("DRAFT 1", "") == base.calls[5][1].text.replace("DRAFT 5", "")


async def test_spri_stage_inputs_are_the_authors():
    # Each stage: a critique below 4, a refinement, then an accepting critique.
    base, critic = numbered_base(), critic_scoring([2, 4, 3, 4])
    result = await reappraise(
        "spri", base, critic, seeds=CONSTITUTIONS, seed_policy="category", category="self-responsibility"
    )
    assert result.calls == 8 and result.calls_per_role == {"base": 4, "critic": 4}
    draft_p, refine_p, draft_r, refine_r = base.calls
    judge_p1, judge_p2, judge_r1, judge_r2 = critic.calls
    own_constitution = constitutions()[0]["constitution"]
    # 1a: post, goal and the one seed of the item's dimension
    assert POST in draft_p[1].text and "GOAL-TEXT" in draft_p[1].text and "128 words" in draft_p[0].text
    assert own_constitution in draft_p[0].text and constitutions()[1]["constitution"] not in draft_p[0].text
    # 1b: Prometheus layout, no system message, post + goal + principles, usefulness criterion
    for call in (judge_p1, judge_p2):
        assert kinds(call) == ["human"] and is_prometheus_prompt(call)
        assert POST in call[0].text and "GOAL-TEXT" in call[0].text and "### Principles to Evaluate:" in call[0].text
        assert "similar questions" in call[0].text
    assert "DRAFT 1" in judge_p1[0].text and "DRAFT 2" in judge_p2[0].text
    # 1c: a refinement of its own: post, principles and feedback; no goal, no seeds
    assert kinds(refine_p) == ["system", "human"]
    assert all(part in refine_p[1].text for part in (POST, "DRAFT 1", "FEEDBACK-2"))
    assert "GOAL-TEXT" not in texts(refine_p) and own_constitution not in texts(refine_p)
    # 2a: post and principles only
    assert POST in draft_r[1].text and "### Principles: DRAFT 2" in draft_r[1].text
    assert "GOAL-TEXT" not in texts(draft_r)
    # 2b: adherence to the principles only; no goal
    for call in (judge_r1, judge_r2):
        assert kinds(call) == ["human"] and "[Principles: DRAFT 2]" in call[0].text
        assert "GOAL-TEXT" not in call[0].text and "keep to the principles" in call[0].text
    # 2c: post, response and feedback; no principles, no goal
    assert all(part in refine_r[1].text for part in (POST, "DRAFT 3", "FEEDBACK-3"))
    assert "DRAFT 2" not in texts(refine_r) and "GOAL-TEXT" not in texts(refine_r)
    assert result.response == "DRAFT 4" and result.principles == "DRAFT 2"
    assert result.stop_reason == {"principles": "accepted", "response": "accepted"}


async def test_a_prometheus_critic_is_read_from_text_and_never_asked_for_tools():
    class NoTools(type(critic_scoring([]))):  # type: ignore[misc]
        def bind_tools(self, *args, **kwargs):
            raise AssertionError("the paper's critic answers in text")

    critic = NoTools(replies=["Feedback: Clear and on point. [RESULT] 4"] * 2)
    assert type(critic).bind_tools is not BaseChatModel.bind_tools
    result = await reappraise("spri", numbered_base(), critic, category="self-responsibility")
    assert [c.score for c in result.critiques["principles"]] == [4]
    assert result.stop_reason == {"principles": "accepted", "response": "accepted"} and result.calls == 4


async def test_the_critics_format_reminder_asks_for_result():
    critic = scripted(
        "I like these principles.", "Feedback: Better now. [RESULT] 4", default="Feedback: Ok. [RESULT] 4"
    )
    result = await reappraise("spri", numbered_base(), critic, category="self-responsibility")
    assert result.critiques["principles"][0].score == 4 and result.calls == 5
    assert "[RESULT]" in critic.calls[1][-1].text and critic.calls[1][-2].text == "I like these principles."


async def test_a_critic_that_never_gives_a_result_ends_critic_unparseable():
    critic = scripted(default="These principles seem fine to me.")  # never a [RESULT] line
    result = await reappraise("spri", numbered_base(), critic, category="self-responsibility")
    # per stage: the critique, then one format reminder, then the stage stops with its draft
    assert len(critic.calls) == 4 and all("[RESULT]" in call[-1].text for call in critic.calls[1::2])
    assert result.stop_reason == {"principles": "critic_unparseable", "response": "critic_unparseable"}
    assert result.principles and result.response and result.calls == 6


@pytest.mark.parametrize(
    ("dimension", "passes"),
    [("self-responsibility", 1), ("attentional_activity", 3), ("consistency_with_internal_values", 6)],
)
async def test_oracle_applies_the_constitutions_in_order_up_to_the_items_dimension(dimension, passes):
    base, critic = numbered_base(), critic_scoring([])
    result = await reappraise("sequential-principles", base, critic, seeds=CONSTITUTIONS, category=dimension)
    assert result.calls == passes and critic.calls == [] and result.calls_per_role["critic"] == 0
    sequence = [c["constitution"] for c in constitutions()[:passes]]
    assert sequence[0] in base.calls[0][1].text and "[Question]" in base.calls[0][1].text
    for index, call in enumerate(base.calls[1:], 1):
        assert f"[Reappraisal Response] DRAFT {index}" in call[1].text and sequence[index] in call[1].text
    assert all("GOAL-TEXT" not in texts(call) for call in base.calls)
    assert result.response == f"DRAFT {passes}" and result.principles == "\n\n".join(sequence)
    assert result.stop_reason == {"principles": "given", "response": "not_judged"}


async def test_oracle_needs_the_items_dimension_before_any_call():
    base = numbered_base()
    with pytest.raises(SpriError, match="category"):
        await reappraise("sequential-principles", base, seeds=CONSTITUTIONS)
    with pytest.raises(SpriError, match="seed example of the input's category"):
        await reappraise("sequential-principles", base, seeds=CONSTITUTIONS, category="no-such-dimension")
    assert base.calls == []


async def test_one_pass_with_given_principles_is_one_call():
    base = numbered_base()
    result = await reappraise("fixed-principles", base, principles="EXPERT CONSTITUTION")
    assert result.calls == 1 and "EXPERT CONSTITUTION" in base.calls[0][1].text and "[Text]" in base.calls[0][1].text


@pytest.mark.parametrize(
    "method", ["sequential-principles", "seed-principles", "self-instruct", "self-align", "self-feedback"]
)
async def test_paper_only_methods_are_refused_under_the_default_protocol(method):
    base = numbered_base()
    with pytest.raises(SpriError, match=f"method '{method}' runs only under protocol 'paper'"):
        await arun(POST, profile="reappraisal", goal=GOAL, model=base, method=method)
    assert base.calls == []


async def test_the_leak_free_seed_policy_leaves_out_the_items_own_constitution():
    base = numbered_base()
    options = {"seeds": CONSTITUTIONS, "category": "self-responsibility"}
    await reappraise("spri", base, critic_scoring([4, 4]), seed_policy="others", **options)
    system = base.calls[0][0].text
    own, *others = constitutions()
    assert system.count("### Principles:") == 5 and own["constitution"] not in system
    assert all(c["constitution"] in system for c in others) and own["reddit_post"] not in system
    faithful = numbered_base()
    await reappraise("spri", faithful, critic_scoring([4, 4]), seed_policy="category", **options)
    assert own["constitution"] in faithful.calls[0][0].text  # the paper's setting, leak included
