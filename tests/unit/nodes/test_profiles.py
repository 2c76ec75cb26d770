"""Profiles x methods on scripted models: the prompts carry the right fields, routes and call counts."""

from __future__ import annotations

import json

import pytest
import yaml

from spri import SpriError, arun
from spri.inputs import make_context, make_input
from spri.nodes.profiles import load_profile, load_seeds
from spri.state import METHODS
from tests.support.fakes import critique, is_critic_prompt, scripted
from tests.support.paper import RELEASED, paper_data


def accepting(verdict: str = "Feedback: Clear and correct.\nScore: 4"):
    """Base drafts 'DRAFT n'; the critic accepts everything; judgment drafts are verdicts."""
    count = iter(range(1, 100))

    def reply(messages):
        if is_critic_prompt(messages):
            return critique(5, "Accept.")
        if "Evaluate the response" in messages[-1].text or "Evaluate the response" in messages[1].text:
            return verdict
        return f"DRAFT {next(count)}"

    return scripted(default=reply)


EXPECTED_CALLS = {
    "spri": 4,
    "fixed-principles": 2,
    "self-refine": 2,
    "vanilla": 1,
    "seed-rubric": 2,
    "mt-bench-rubric": 2,
    "flask-rubric": 2,
}


def test_every_method_is_in_the_table():
    assert {name for name, plan in METHODS.items() if not plan.paper_only} == set(EXPECTED_CALLS)


@pytest.mark.parametrize("method", ["spri", "fixed-principles", "self-refine", "vanilla"])
async def test_general_methods_route_and_count(method):
    model = accepting()
    result = await arun("How do I start journaling?", model=model, method=method, principles="GIVEN PRINCIPLES")
    assert result.calls == EXPECTED_CALLS[method]
    assert result.method == method
    stages_run = set(result.drafts)
    assert stages_run == ({"principles", "response"} if method == "spri" else {"response"})
    if method == "fixed-principles":
        assert result.principles == "GIVEN PRINCIPLES"
        assert result.stop_reason == {"principles": "given", "response": "accepted"}
        assert "GIVEN PRINCIPLES" in model.calls[0][1].text
    if method == "self-refine":
        assert all("GIVEN PRINCIPLES" not in m.text for call in model.calls for m in call)
        assert "Principles" not in model.calls[1][1].text  # the critic judges without principles
    if method == "vanilla":
        assert result.stop_reason == {"response": "not_judged"}
        assert result.critiques == {}


async def test_fixed_principles_requires_them():
    with pytest.raises(SpriError, match="needs principles"):
        await arun("Q?", model=accepting(), method="fixed-principles")


async def test_reappraisal_prompts_carry_the_post_and_goal():
    model = accepting()
    result = await arun(
        "My sister didn't invite me to her wedding.", profile="reappraisal", goal="GOAL-TEXT", model=model
    )
    assert result.calls == 4
    for call in model.calls:
        assert "GOAL-TEXT" in call[1].text and "wedding" in call[1].text
    assert "Post:" in model.calls[0][1].text and "Response goal:" in model.calls[0][1].text
    assert "DRAFT 1" in model.calls[2][1].text  # the reply is written with the principles


async def test_reappraisal_needs_a_goal():
    with pytest.raises(SpriError, match="needs input field\\(s\\): goal"):
        await arun("A post.", profile="reappraisal", model=accepting())


async def test_rubric_stage1_never_sees_the_response_and_stage2_judges_it():
    model = accepting("Feedback: Misses the leftover pens.\nScore: 3")
    result = await arun(
        "How much do 10 pens cost at 3 for $2?",
        profile="rubric",
        reference="REFERENCE-ANSWER",
        response_to_judge="RESPONSE-UNDER-TEST",
        extra={"system_prompt": "SYSTEM-PROMPT"},
        model=model,
    )
    draft_rubric, judge_rubric, judgment, check = model.calls
    assert "REFERENCE-ANSWER" in draft_rubric[1].text and "SYSTEM-PROMPT" in draft_rubric[1].text
    assert all("RESPONSE-UNDER-TEST" not in m.text for m in draft_rubric + judge_rubric)
    assert "RESPONSE-UNDER-TEST" in judgment[1].text and "DRAFT 1" in judgment[1].text
    assert "RESPONSE-UNDER-TEST" in check[1].text and "Misses the leftover pens." in check[1].text
    assert (result.rubric, result.score, result.feedback) == ("DRAFT 1", 3, "Misses the leftover pens.")
    assert result.response == "Feedback: Misses the leftover pens.\nScore: 3"
    assert result.calls == 4


async def test_rubric_judgment_verdict_is_read_like_a_critique_with_one_reminder():
    replies = ["RUBRIC", critique(5), "I think it is decent.", "Feedback: Decent.\n[RESULT] 4", critique(5)]
    result = await arun("Q?", profile="rubric", response_to_judge="A", model=scripted(*replies))
    assert result.score == 4 and result.feedback == "Decent."
    assert result.calls_per_stage == {"principles": 2, "response": 3}


@pytest.mark.parametrize(
    "method,category,expected",
    [
        ("mt-bench-rubric", None, "Overall quality"),
        ("flask-rubric", "reasoning", "Logical correctness"),
        ("flask-rubric", "unknown-capability", "Correctness, completeness and readability"),
        ("seed-rubric", "reasoning", "4 packs"),
    ],
)
async def test_rubric_baselines_use_fixed_rubrics(method, category, expected):
    model = accepting()
    result = await arun("Q?", profile="rubric", response_to_judge="A", method=method, category=category, model=model)
    assert result.calls == 2
    assert expected in model.calls[0][1].text
    assert result.rubric and expected in result.rubric
    assert result.stop_reason["principles"] == "given"


async def test_rubric_vanilla_judges_directly_without_a_rubric():
    model = accepting()
    result = await arun("Q?", profile="rubric", response_to_judge="A", method="vanilla", model=model)
    assert result.calls == 1 and result.score == 4
    assert "Scoring rubric" not in model.calls[0][1].text


async def test_seed_rubric_needs_a_matching_category():
    with pytest.raises(SpriError, match="needs a seed example of the input's category"):
        await arun("Q?", profile="rubric", response_to_judge="A", method="seed-rubric", model=accepting())


async def test_generic_rubrics_exist_only_where_the_profile_has_them():
    with pytest.raises(SpriError, match="profile 'general' has no generic principles 'mt-bench'"):
        await arun("Q?", method="mt-bench-rubric", model=accepting())


@pytest.mark.parametrize(
    ("name", "profile", "rows"),
    [
        pytest.param(name, profile, rows, marks=pytest.mark.data(getattr(RELEASED, name)), id=name)
        for name, profile, rows in (
            ("principles", "general", 6),
            ("constitutions", "reappraisal", 6),
            ("rubrics", "rubric", 24),
        )
    ],
)
def test_the_papers_seed_files_load_as_released(name, profile, rows):
    seeds = load_seeds(str(RELEASED.path(name)), profile)
    assert len(seeds) == rows
    assert all(s.inputs["query"] and s.principles and s.category for s in seeds)


@pytest.mark.parametrize("paper", paper_data("posts", "constitutions"))
async def test_a_resort_item_runs_end_to_end_with_category_seeds(paper):
    item = json.loads(paper.path("posts").read_text().splitlines()[0])
    model = accepting()
    result = await arun(
        item["post"],
        goal=item["goal"],
        category=item["dimension"],
        profile="reappraisal",
        seeds=str(paper.path("constitutions")),
        seed_policy="category",
        model=model,
    )
    system = model.calls[0][0].text
    assert system.count("--- Example") == 1  # only the seed of the same appraisal dimension
    assert result.response and result.calls == 4
    oracle = await arun(
        item["post"],
        goal=item["goal"],
        profile="reappraisal",
        method="fixed-principles",
        principles=item["oracle_principles"],
        model=accepting(),
    )
    assert oracle.principles == item["oracle_principles"] and oracle.calls == 2


@pytest.mark.parametrize("paper", paper_data("instances", "rubrics"))
async def test_a_biggen_instance_runs_end_to_end(paper):
    item = json.loads(paper.path("instances").read_text().splitlines()[0])
    model = accepting()
    result = await arun(
        item["input"],
        profile="rubric",
        reference=item["reference_answer"],
        response_to_judge="A candidate answer.",
        category=item["capability"],
        extra={"system_prompt": item["system_prompt"]},
        seeds=str(paper.path("rubrics")),
        seed_policy="category",
        model=model,
    )
    assert model.calls[0][0].text.count("--- Example") == 3  # three seed rubrics per capability
    assert result.score == 4 and result.rubric == "DRAFT 1"
    oracle = await arun(
        item["input"],
        profile="rubric",
        response_to_judge="A candidate answer.",
        method="fixed-principles",
        principles=item["score_rubric"],
        model=accepting(),
    )
    assert oracle.calls == 2


USER_PROFILE = {
    "name": "recipe",
    "description": "Cooking questions with the cook's equipment.",
    "fields": [
        {"name": "query", "label": "Question", "required": True},
        {"name": "kitchen", "label": "Equipment available"},
    ],
    "principles": {
        "system": "Write cooking principles.",
        "draft": "{{ input }}\nWrite principles.",
        "refine": "Fix: {{ feedback }}",
        "critic": "You review cooking principles.\n{{ scale }}",
        "judge": "{{ input }}\n{{ draft }}",
        "scale": ["bad", "poor", "ok", "good", "great"],
    },
    "response": {
        "system": "Answer the cooking question.",
        "draft": "{{ input }}\n{% if principles %}Follow: {{ principles }}{% endif %}",
        "refine": "Fix: {{ feedback }}",
        "critic": "You review a cooking answer.\n{{ scale }}",
        "judge": "{{ principles }}\n{{ draft }}",
        "scale": ["bad", "poor", "ok", "good", "great"],
    },
}


async def test_user_defined_profile_from_yaml_round_trips(tmp_path):
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(USER_PROFILE))
    profile = load_profile(str(path))
    again = tmp_path / "recipe-again.yaml"
    again.write_text(yaml.safe_dump(profile.model_dump()))
    assert load_profile(str(again)) == profile
    model = accepting()
    result = await arun("How do I bake bread?", profile=str(path), extra={"kitchen": "a dutch oven"}, model=model)
    assert result.profile == str(path) and result.calls == 4
    assert "Equipment available:\na dutch oven" in model.calls[0][1].text


async def test_user_defined_profile_from_toml(tmp_path):
    lines = ['name = "tiny"']
    lines.append('[[fields]]\nname = "query"\nlabel = "Q"\nrequired = true')
    for stage in ("principles", "response"):
        lines.append(f"[{stage}]")
        for key, value in USER_PROFILE[stage].items():
            lines.append(f"{key} = {json.dumps(value)}")
    path = tmp_path / "tiny.toml"
    path.write_text("\n".join(lines))
    assert load_profile(str(path)).fields[0].label == "Q"
    assert (await arun("Q?", profile=str(path), model=accepting())).calls == 4


async def test_input_checks_follow_a_profiles_method_alias(tmp_path):
    """A profile may run another method's row under a method's name: the input is checked against
    the row that will run (here 'spri' runs as fixed principles, so principles are required)."""
    lines = ['name = "tiny"', '[[fields]]\nname = "query"\nlabel = "Q"\nrequired = true']
    for stage in ("principles", "response"):
        lines.append(f"[{stage}]")
        lines.extend(f"{key} = {json.dumps(value)}" for key, value in USER_PROFILE[stage].items())
    lines.append('[methods]\nspri = "fixed-principles"')
    path = tmp_path / "aliased.toml"
    path.write_text("\n".join(lines))
    with pytest.raises(SpriError, match="needs principles"):  # before a thread or a model is touched
        make_input("Q?", make_context(profile=str(path), model=accepting()))
    model = accepting()
    assert (await arun("Q?", profile=str(path), model=model, principles="1. Be brief.")).calls == 2


@pytest.mark.parametrize(
    "change,message",
    [
        ({"fields": [{"name": "goal", "label": "G"}]}, "fields must include 'query'"),
        ({"principles": {**USER_PROFILE["principles"], "scale": ["a", "b"]}}, "principles.scale"),
        ({"response": {**USER_PROFILE["response"], "draft": "{% if %}"}}, "template 'draft' does not parse"),
        ({"response": {**USER_PROFILE["response"], "output": "table"}}, "response.output"),
        ({"fields": "query"}, "fields"),
    ],
)
def test_bad_profile_files_are_explained(tmp_path, change, message):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({**USER_PROFILE, **change}))
    with pytest.raises(SpriError, match=r"bad.yaml is invalid") as error:
        load_profile(str(path))
    assert message in str(error.value)


NOT_EXAMPLES = {
    "a literal nested too deeply": ('"{' + "-" * 100_000 + '1}"', "a value is not example text (nested too deeply"),
    "JSON nested too deeply": ("[" * 100_000 + "]" * 100_000, "nested too deeply to read"),
    "a 5000-digit number": ("9" * 5000, "holds a number too long to read"),
}


@pytest.mark.parametrize("case", NOT_EXAMPLES)
def test_a_seeds_value_that_is_not_an_example_names_the_file_and_line(tmp_path, case):
    from spri.api import explain

    value, reason = NOT_EXAMPLES[case]
    seeds = tmp_path / "seeds.jsonl"
    seeds.write_text('{"query": "q", "principles": "1. Be kind."}\n{"query": "q", "principles": ' + value + "}\n")
    with pytest.raises(SpriError) as caught:
        load_seeds(str(seeds), "general")
    message, user_fixable = explain(caught.value)
    assert message.startswith(f"seeds file {seeds}, line 2: {reason}") and user_fixable
    assert "\n" not in message
