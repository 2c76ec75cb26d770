"""Protocol 'paper', Task 3 (SFT data, Table 4): every generator's calls and prompts."""

from __future__ import annotations

import pytest

from spri import arun
from spri.nodes.profiles import load_profile, load_seeds
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
        ("self-instruct", "Task: Convert 12 miles to kilometres.", f"Task: {QUESTION}\nOutput:"),
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


def test_self_instruct_asks_for_examples_of_each_task_as_the_paper_does():
    system = load_profile("general", "paper").render("response", "system", "self-instruct")
    instruction, *tasks = system.split("\n\nTask: ")
    assert "examples for each of the tasks" in instruction and "several examples" in instruction
    assert "needs no further input, give its output straight away" in instruction
    # eleven tasks: seven show numbered examples of their input (four of them two), four are answered directly
    assert len(tasks) == 11 and all("\nOutput:" in task for task in tasks)
    assert [task.count("\nExample ") for task in tasks] == [0, 1, 0, 2, 2, 1, 1, 2, 0, 2, 0]


RULES = [
    "ethical", "informative", "helpful", "question assessment", "reasoning", "multi-aspect", "candor",
    "knowledge recitation", "static", "clarification", "numerical sensitivity", "dated knowledge", "step-by-step",
    "balanced & informative perspectives", "creative", "operational",
]  # fmt: skip


def test_self_align_has_the_papers_sixteen_rules_and_five_reasoned_conversations():
    system = load_profile("general", "paper").render("response", "system", "self-align")
    rules, examples = system.split("\n## Examples\n")
    assert rules.startswith("# Ember\n\n## General Rules\n") and "trained before September 2021" in rules
    listed = [line for line in rules.splitlines() if line[:1].isdigit()]
    assert [line.split(" (", 1)[1].split(")", 1)[0] for line in listed] == RULES
    assert [line.split(".", 1)[0] for line in listed] == [f"{n} ({name})" for n, name in enumerate(RULES, 1)]
    # rule 4 checks that the question is valid and ethical; rule 16 answers what a computer can do
    assert "checks whether the question is valid and ethical" in listed[3]
    assert "tries to answer tasks that a computer can carry out" in listed[15]
    # five conversations (one with a follow-up), each thought naming its rules, each closed by thanks
    assert examples.count("Ember (internal thoughts): I am a helpful, ethical and reliable assistant.") == 6
    assert examples.count("User: Good job! Clear context\n\nEmber (auto reply):") == 5


async def test_seed_principles_lists_every_seed_principle_as_rules_in_one_call():
    base = numbered_base()
    result = await generate("seed-principles", base, seeds=PRINCIPLE_INSTRUCT)
    assert result.calls == 1
    system, user = base.calls[0]
    seeds = load_seeds(PRINCIPLE_INSTRUCT, "general")
    assert len(seeds) == 6
    for number, seed in enumerate(seeds, 1):
        assert f"{number}: {seed.principles}" in system.text
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


def self_refine_template(step: str) -> str:
    return load_profile("general", "paper").render("response", step, "self-feedback")


async def test_self_refine_reads_only_result_colon_n_and_refines_what_it_cannot_read():
    # The authors' Table 4 parser reads only "RESULT: N" (the colon required; "3.5" is 3), and an
    # unreadable self-critique is refined like a low one: no reminder, no stop.
    base = scripted(
        "R0",
        "Feedback: fine. [RESULT] 4",  # no colon: unreadable, refined
        "R1",
        "Feedback: nothing to score.",  # no score: refined
        "R2",
        "Feedback: better. [RESULT]: 3.5",  # reads 3: refined
        "R3",
        "Feedback: good. [RESULT]: 4",
    )
    result = await generate("self-refine", base)
    assert result.calls == 8 and result.calls_per_role == {"base": 8, "critic": 0}
    assert [c.score for c in result.critiques["response"]] == [None, None, 3, 4]
    assert result.response == "R3" and result.stop_reason == {"response": "accepted"}
    critic_system, refine_system = self_refine_template("critic"), self_refine_template("refine_system")
    assert [m.text for m in base.calls[0]] == [
        self_refine_template("system"),
        f"### Question: {QUESTION}\n\n### Response:",
    ]
    for index, (response, critique) in enumerate(
        [
            ("R0", "Feedback: fine. [RESULT] 4"),
            ("R1", "Feedback: nothing to score."),
            ("R2", "Feedback: better. [RESULT]: 3.5"),
        ]
    ):
        judge, refine = base.calls[1 + 2 * index], base.calls[2 + 2 * index]
        assert [m.text for m in judge] == [
            critic_system,
            f"### Question: {QUESTION}\n\n### Response: {response}\n\n### Feedback:",
        ]
        assert [m.text for m in refine] == [
            refine_system,
            f"### Question: {QUESTION}\n\n### Original Response: {response}\n\n"
            f"### Feedback: {critique}\n\n### Refined Response:",
        ]  # the whole self-critique, as the authors pass it on
    assert [m.text for m in base.calls[7]][1] == f"### Question: {QUESTION}\n\n### Response: R3\n\n### Feedback:"


async def test_self_refine_that_never_reads_a_score_refines_up_to_the_cap():
    base = scripted(default=lambda m: "Feedback: no verdict here." if "[RESULT]" in m[0].text else "R")
    result = await generate("self-refine", base)
    assert result.calls == 9  # a draft, then 4 x (self-critique + refinement); no reminders
    assert [c.score for c in result.critiques["response"]] == [None] * 4
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
