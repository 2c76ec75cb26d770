"""What the models are shown: seed examples (or none), the input fields, principles, stable prefixes."""

from __future__ import annotations

import json

import pytest

from spri import SpriError, arun
from spri.nodes.profiles import load_seeds
from tests.support.fakes import critique, scripted

DEFAULT_SEED_QUERY = load_seeds("default", "general")[0].inputs["query"]


def accept_all():
    return scripted("P1", critique(5), "R1", critique(5))


async def test_default_seeds_go_first_in_the_drafting_system_message():
    model = accept_all()
    await arun("How do I fix a squeaky door?", model=model)
    system, request = model.calls[0][0], model.calls[0][1]
    assert system.type == "system"
    assert DEFAULT_SEED_QUERY in system.text
    assert "Example 1" in system.text
    assert "squeaky door" in request.text and "squeaky door" not in system.text


async def test_zero_seed_prompt_has_no_examples():
    model = accept_all()
    await arun("How do I fix a squeaky door?", model=model, seed_policy="none")
    assert DEFAULT_SEED_QUERY not in model.calls[0][0].text
    assert "Example" not in model.calls[0][0].text


async def test_user_seed_file_and_category_policy(tmp_path):
    seeds = tmp_path / "seeds.jsonl"
    seeds.write_text(
        json.dumps({"question": "Q-cooking", "principle": "Use a timer.", "question_type": "food"})
        + "\n"
        + json.dumps({"question": "Q-money", "principle": "Check fees.", "question_type": "finance"})
        + "\n"
    )
    model = accept_all()
    await arun("Best way to save?", model=model, seeds=str(seeds), seed_policy="category", category="finance")
    system = model.calls[0][0].text
    assert "Q-money" in system and "Check fees." in system
    assert "Q-cooking" not in system


async def test_stable_prefix_is_identical_across_queries_and_rounds():
    first, second = accept_all(), scripted("P1", critique(2), "P2", critique(5), "R1", critique(5))
    await arun("First question?", model=first)
    await arun("A different question?", model=second)
    assert first.calls[0][0] == second.calls[0][0]  # drafting system message (role + seeds)
    assert first.calls[1][0] == second.calls[1][0]  # critic system message (role + scale)
    assert second.calls[2][0] == second.calls[0][0]  # refinement reuses the drafting prefix
    assert first.calls[2][0] == second.calls[4][0]  # response drafting


async def test_response_stage_sees_principles_and_goal():
    model = accept_all()
    await arun("My friend ignores my texts.", model=model, goal="Help them see it may not be personal.")
    draft_response, judge_response = model.calls[2], model.calls[3]
    assert "P1" in draft_response[1].text
    assert "Help them see it may not be personal." in draft_response[1].text
    assert "P1" in judge_response[1].text and "R1" in judge_response[1].text
    assert "Response goal" in model.calls[0][1].text


async def test_critic_sees_the_scale():
    model = accept_all()
    await arun("Q?", model=model)
    critic_system = model.calls[1][0].text
    assert all(f"{score}: " in critic_system for score in range(1, 6))


async def test_unreadable_seed_file_is_reported_with_line(tmp_path):
    seeds = tmp_path / "bad.jsonl"
    seeds.write_text('{"question": "q", "principle": "p"}\nnot json\n')
    with pytest.raises(SpriError, match=r"bad.jsonl, line 2: not valid JSON"):
        await arun("Q?", model=accept_all(), seeds=str(seeds))


async def test_seed_file_without_principles_names_the_columns(tmp_path):
    seeds = tmp_path / "s.jsonl"
    seeds.write_text('{"question": "q"}\n')
    with pytest.raises(SpriError, match=r"line 1: missing principles"):
        await arun("Q?", model=accept_all(), seeds=str(seeds))
