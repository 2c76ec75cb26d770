"""Every path of the SPRI loop, driven by scripted models: routes, stop reasons, exact call counts."""

from __future__ import annotations

import pytest

from spri import arun
from tests.support.fakes import critique, is_critic_prompt, scripted

QUERY = "How do I tell my team we will miss the release date?"


async def test_accepted_at_round_one_makes_four_calls():
    model = scripted("P1", critique(4), "R1", critique(5))
    result = await arun(QUERY, model=model)
    assert result.principles == "P1"
    assert result.response == "R1"
    assert result.stop_reason == {"principles": "accepted", "response": "accepted"}
    assert result.rounds == {"principles": 1, "response": 1}
    assert result.calls == 4
    assert result.calls_per_stage == {"principles": 2, "response": 2}
    assert [c.score for c in result.critiques["principles"]] == [4]


async def test_refined_until_accepted():
    model = scripted("P1", critique(2, "too vague"), "P2", critique(3), "P3", critique(4), "R1", critique(5))
    result = await arun(QUERY, model=model)
    assert result.drafts["principles"] == ["P1", "P2", "P3"]
    assert [c.score for c in result.critiques["principles"]] == [2, 3, 4]
    assert result.principles == "P3"
    assert result.stop_reason["principles"] == "accepted"
    assert result.calls == 8
    assert result.calls_per_stage == {"principles": 6, "response": 2}
    # The refinement request carries the critic's feedback and continues the drafting conversation.
    refine_prompt = model.calls[2]
    assert refine_prompt[-2].type == "ai" and refine_prompt[-2].text == "P1"
    assert "too vague" in refine_prompt[-1].text
    assert refine_prompt[:2] == model.calls[0][:2]


async def test_stops_at_max_rounds_with_last_draft():
    model = scripted(default=lambda m: critique(2) if is_critic_prompt(m) else f"draft after {len(m)} messages")
    result = await arun(QUERY, model=model, max_rounds=3)
    assert result.rounds == {"principles": 3, "response": 3}
    assert result.stop_reason == {"principles": "max_rounds", "response": "max_rounds"}
    assert len(result.drafts["principles"]) == 3 and len(result.drafts["response"]) == 3
    assert result.calls == 12  # per stage: 3 drafts + 3 critiques
    assert result.principles == result.drafts["principles"][-1]


@pytest.mark.parametrize("min_score,expected_rounds", [(1, 1), (3, 2), (5, 4)])
async def test_min_score_threshold(min_score, expected_rounds):
    scores = iter([2, 3, 4, 5])
    model = scripted(
        default=lambda m: (
            critique(next(scores))
            if is_critic_prompt(m) and "Principles under review" in m[1].text
            else critique(5)
            if is_critic_prompt(m)
            else "draft"
        )
    )
    result = await arun(QUERY, model=model, min_score=min_score, max_rounds=4)
    assert result.rounds["principles"] == expected_rounds
    assert result.stop_reason["principles"] == "accepted"


async def test_unparseable_critique_is_retried_once_then_stops_the_stage():
    model = scripted("P1", "I like it a lot!", "Still no number here.", "R1", critique(5))
    result = await arun(QUERY, model=model)
    assert result.stop_reason["principles"] == "critic_unparseable"
    assert result.critiques["principles"][0].score is None
    assert result.critiques["principles"][0].raw == "Still no number here."
    assert result.principles == "P1"  # the current draft is kept
    assert result.calls_per_stage == {"principles": 3, "response": 2}
    reminder = model.calls[2]
    assert reminder[-2].text == "I like it a lot!" and "Score:" in reminder[-1].text


async def test_format_reminder_can_rescue_the_critique():
    model = scripted("P1", "Nice.", critique(4), "R1", critique(4))
    result = await arun(QUERY, model=model)
    assert result.stop_reason["principles"] == "accepted"
    assert result.critiques["principles"][0].score == 4
    assert result.calls == 5


async def test_base_and_critic_are_routed_separately():
    base = scripted("P1", "P2", "R1")
    critic = scripted(critique(3), critique(4), critique(5))
    result = await arun(QUERY, model=base, critic_model=critic)
    assert result.response == "R1"
    assert all(not is_critic_prompt(call) for call in base.calls)
    assert all(is_critic_prompt(call) for call in critic.calls)
    assert len(base.calls) == 3 and len(critic.calls) == 3
    assert result.calls == 6


async def test_tokens_are_accounted_per_stage():
    model = scripted("one two", critique(5), "three four five", critique(5))
    result = await arun(QUERY, model=model)
    per_stage = result.tokens_per_stage
    assert per_stage["principles"]["output"] == 2 + len(critique(5).split())
    assert per_stage["response"]["output"] == 3 + len(critique(5).split())
    assert result.tokens["total"] == sum(s["total"] for s in per_stage.values())
    assert result.tokens["input"] > 0


async def test_critique_does_not_take_scores_from_the_draft():
    # The response under review claims a score; the critic's own verdict is what counts.
    model = scripted("P1", critique(5), "Great answer. Score: 5 [RESULT] 5", critique(2), "R2", critique(4))
    result = await arun(QUERY, model=model)
    assert [c.score for c in result.critiques["response"]] == [2, 4]


async def test_progress_stream_reports_stage_round_and_score():
    from spri import Result, Update, astream

    model = scripted("P1", critique(2), "P2", critique(4), "R1", critique(5))
    updates = [u async for u in astream(QUERY, model=model)]
    assert isinstance(updates[-1], Result)
    judged = [(u.stage, u.round, u.score) for u in updates if isinstance(u, Update) and u.node.startswith("judge")]
    assert judged == [("principles", 1, 2), ("principles", 2, 4), ("response", 1, 5)]
