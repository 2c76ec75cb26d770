"""Protocol 'paper', Task 3 (SFT data, Table 4): every generator's calls and prompts."""

from __future__ import annotations

import pytest

from spri import arun
from spri.nodes.profiles import load_seeds
from tests.support.fakes import scripted
from tests.support.paper import PRINCIPLE_INSTRUCT, critic_scoring, is_prometheus_prompt, kinds, numbered_base, paper

QUESTION = "How do I keep basil alive on a windowsill?"


async def generate(method: str, base, critic=None, **options):
    return await arun(
        QUESTION, model=base, critic_model=critic or critic_scoring([]), **paper(method=method, **options)
    )


@pytest.mark.parametrize(
    ("method", "system_has", "user_is"),
    [
        ("vanilla", "Answer the question directly", f"### Question: {QUESTION}\n\n### Response:"),
        ("self-instruct", "Task: Convert 5 kilometres to miles.", f"Task: {QUESTION}\nOutput:"),
        ("self-align", "16 (operational)", f"User: {QUESTION}"),
    ],
)
async def test_one_call_generators(method, system_has, user_is):
    base, critic = numbered_base(), critic_scoring([])
    result = await generate(method, base, critic)
    assert result.calls == 1 and result.calls_per_role == {"base": 1, "critic": 0} and critic.calls == []
    ((system, user),) = base.calls
    assert system_has in system.text and user.text == user_is
    assert result.response == "DRAFT 1" and result.principles is None


async def test_seed_principles_lists_every_seed_principle_as_rules_in_one_call():
    base = numbered_base()
    result = await generate("seed-principles", base, seeds=PRINCIPLE_INSTRUCT)
    assert result.calls == 1
    system, user = base.calls[0]
    seeds = load_seeds(PRINCIPLE_INSTRUCT, "general")
    assert len(seeds) == 6
    for number, seed in enumerate(seeds, 1):
        assert f"{number}. {seed.principles}" in system.text
    assert user.text == f"User Input: {QUESTION}\nResponse:"


async def test_self_refine_is_the_base_model_scoring_itself_until_four():
    base = scripted("R1", "Feedback: thin. [RESULT]: 2", "R2", "Feedback: good. [RESULT]: 4")
    critic = critic_scoring([])
    result = await generate("self-refine", base, critic)
    assert result.calls == 4 and result.calls_per_role == {"base": 4, "critic": 0} and critic.calls == []
    assert result.response == "R2" and result.stop_reason == {"response": "accepted"}
    first_feedback, refinement, second_feedback = base.calls[1], base.calls[2], base.calls[3]
    assert "[RESULT]: " in first_feedback[0].text and "accuracy" in first_feedback[0].text
    assert first_feedback[1].text == f"### Question: {QUESTION}\n\n### Response: R1\n\n### Feedback:"
    assert kinds(refinement) == ["system", "human"] and "### Original Response: R1" in refinement[1].text
    assert "thin." in refinement[1].text
    assert "### Response: R2" in second_feedback[1].text  # the latest response is judged, not the first


async def test_self_refine_refines_after_its_fourth_critique_and_stops():
    base = scripted(default=lambda m: "Feedback: weak. [RESULT]: 2" if "[RESULT]" in m[0].text else "R")
    result = await generate("self-refine", base)
    assert result.calls == 9  # a draft, then 4 x (self-critique + refinement)
    assert len(result.drafts["response"]) == 5 and len(result.critiques["response"]) == 4
    assert result.stop_reason == {"response": "max_rounds"}


async def test_spri_uses_the_goal_free_stages_and_question_principles_seeds():
    base, critic = numbered_base(), critic_scoring([4, 4])
    result = await generate("spri", base, critic, seeds=PRINCIPLE_INSTRUCT)
    assert result.calls == 4 and result.calls_per_role == {"base": 2, "critic": 2}
    draft_p, draft_r = base.calls
    assert draft_p[1].text == f"### Question: {QUESTION}\n### Principles:"
    assert draft_p[0].text.count("### Question:") == 6 and "Response Goal" not in draft_p[0].text
    assert draft_r[1].text == f"### Question: {QUESTION}\n### Principles: DRAFT 1\n\n### Response:"
    assert all(kinds(call) == ["human"] and is_prometheus_prompt(call) for call in critic.calls)
    assert "Response Goal" not in critic.calls[0][0].text


async def test_a_response_goal_reaches_only_the_principles_draft():
    # The reappraisal seed ablations ran these prompts with a goal (the authors' code adds it to the
    # principles request only).
    base, critic = numbered_base(), critic_scoring([4, 4])
    await generate("spri", base, critic, goal="GOAL-TEXT")
    assert "### Response Goal: GOAL-TEXT" in base.calls[0][1].text
    assert ["GOAL-TEXT" in call[-1].text for call in [base.calls[1], *critic.calls]] == [False, False, False]


@pytest.mark.parametrize("name", ["general", "reappraisal", "rubric"])
def test_paper_profiles_take_the_same_fields_as_the_default_ones(name):
    from spri.nodes.profiles import load_profile

    default, faithful = load_profile(name), load_profile(name, "paper")
    assert faithful is not default and faithful.fields == default.fields  # inputs are checked with either
    assert not faithful.principles.structured and not faithful.response.structured  # critics answer in text
