"""Protocol 'paper': the paper's seed files are the default seeds of its profiles (Principle-Instruct for
Tables 2 and 4, the RESORT constitution of the input's dimension for Table 1), found in the folder given
as ``paper_seeds`` ($SPRI_PAPER_SEEDS, --paper-seeds); without them a run that needs seeds is refused,
naming the file and where it comes from, before any model call; never other seeds in their place."""

from __future__ import annotations

import json

import pytest

from spri import arun
from spri.batch import run_batch
from spri.cli import main
from spri.nodes.begin import rule_list
from spri.nodes.profiles import load_profile, load_seeds
from spri.state import SpriError
from tests.support.fakes import scripted
from tests.support.paper import CONSTITUTIONS, PAPER_SEEDS, PRINCIPLE_INSTRUCT, critic_scoring, numbered_base, paper

QUESTION = "How do I keep basil alive on a windowsill?"


@pytest.fixture(autouse=True)
def no_seeds_folder_in_the_environment(monkeypatch):
    monkeypatch.delenv("SPRI_PAPER_SEEDS", raising=False)


async def test_seed_principles_lists_the_papers_six_principles_by_default():
    base = numbered_base()
    result = await arun(QUESTION, model=base, critic_model=critic_scoring([]), **paper(method="seed-principles"))
    assert result.calls == 1
    principles = [seed.principles for seed in load_seeds(PRINCIPLE_INSTRUCT, "general")]
    rules = "\n".join(f"{number}: {text}" for number, text in enumerate(principles, 1))
    system, user = base.calls[0]
    expected = load_profile("general", "paper").render("response", "system", "seed-principles", principles=rules)
    assert system.text == expected and expected.endswith(f"Rules:\n{rules}")
    assert user.text == f"User Input: {QUESTION}\nResponse:"


def test_a_seed_written_as_a_list_gives_one_rule_per_item_never_a_nested_list():
    assert rule_list(["1. Be specific.\n2. Be kind.", "Cite sources.", "- Stay brief.\n- No jargon."]) == (
        "1: Be specific.\n2: Be kind.\n3: Cite sources.\n4: Stay brief.\n5: No jargon."
    )
    own = [seed.principles for seed in load_seeds("default", "general")]  # the project's seeds are lists
    assert "1. 1." not in rule_list(own) and ": 1." not in rule_list(own)


@pytest.mark.parametrize(("profile", "examples"), [("general", 6), ("rubric", 6)])
async def test_spri_drafts_principles_from_the_papers_principle_instruct_seeds(profile, examples):
    base, critic = scripted(default="<feedback>ok</feedback><score>4</score>"), critic_scoring([4, 4])
    fields = {"response_to_judge": "An answer."} if profile == "rubric" else {}
    result = await arun(QUESTION, profile=profile, model=base, critic_model=critic, **fields, **paper())
    assert result.calls == 4
    system = base.calls[0][0].text
    assert system.count("### Question:") == examples and system.count("### Principles:") == examples
    first_seed = load_seeds(PRINCIPLE_INSTRUCT, "general")[0]
    assert f"### Question: {first_seed.inputs['query']}\n### Principles: {first_seed.principles}" in system


async def test_reappraisal_drafts_from_the_constitution_of_the_inputs_dimension():
    base, critic = numbered_base(), critic_scoring([4, 4])
    constitutions = load_seeds(CONSTITUTIONS, "reappraisal")
    own = constitutions[3]
    result = await arun(
        "My plans fell through.", profile="reappraisal", goal="Feel calmer.", category=own.category,
        model=base, critic_model=critic, **paper(),
    )  # fmt: skip
    assert result.calls == 4
    system = base.calls[0][0].text
    assert system.count("### Principles:") == 1 and own.principles in system  # Table 1: one, the dimension's
    assert all(other.principles not in system for other in constitutions if other is not own)


@pytest.mark.parametrize(
    ("options", "where"),
    [
        ({}, "give the folder that holds it with --paper-seeds DIR"),
        ({"paper_seeds": "{empty}"}, "not found at {empty}/principles_6.jsonl"),
    ],
)
@pytest.mark.parametrize("method", ["spri", "seed-principles"])
async def test_without_the_papers_seed_file_a_run_is_refused_before_any_call(tmp_path, method, options, where):
    base, critic = numbered_base(), critic_scoring([])
    options = {k: v.format(empty=tmp_path) for k, v in options.items()}
    with pytest.raises(SpriError) as refused:
        await arun(QUESTION, model=base, critic_model=critic, protocol="paper", method=method, **options)
    message = str(refused.value)
    assert "the paper's seed file principles_6.jsonl from the SPRI paper's release" in message
    assert "github.com/honglizhan/SPRI-public" in message and where.format(empty=tmp_path) in message
    assert "$SPRI_PAPER_SEEDS" in message and "--seeds FILE" in message
    assert base.calls == [] and critic.calls == []


async def test_runs_that_read_no_seeds_or_name_their_own_need_no_folder():
    for options in ({"method": "vanilla"}, {"seed_policy": "none"}, {"seeds": PRINCIPLE_INSTRUCT}):
        result = await arun(
            QUESTION, model=numbered_base(), critic_model=critic_scoring([4, 4]), protocol="paper", **options
        )
        assert result.response


async def test_the_folder_comes_from_spri_paper_seeds(monkeypatch):
    monkeypatch.setenv("SPRI_PAPER_SEEDS", PAPER_SEEDS)
    base = numbered_base()
    await arun(QUESTION, model=base, protocol="paper", method="seed-principles")
    assert load_seeds(PRINCIPLE_INSTRUCT, "general")[0].principles in base.calls[0][0].text


def test_spri_ask_refuses_in_one_line_naming_the_file(capsys, isolated_env):
    code = main(["ask", "--protocol", "paper", "--model", "openai:m", "--method", "seed-principles", QUESTION])
    err = capsys.readouterr().err
    assert code != 0 and err.count("\n") == 1 and "principles_6.jsonl" in err and "--paper-seeds DIR" in err


async def test_spri_batch_refuses_before_writing_anything(tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps({"id": "q1", "query": QUESTION}) + "\n")
    base = numbered_base()
    with pytest.raises(SpriError, match=r"principles_6\.jsonl"):
        await run_batch(str(source), str(tmp_path / "out.jsonl"), model=base, protocol="paper", progress=False)
    assert base.calls == [] and sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl"]
    summary = await run_batch(
        str(source), str(tmp_path / "out.jsonl"), model=base, critic_model=critic_scoring([4, 4]), protocol="paper",
        paper_seeds=PAPER_SEEDS, progress=False,
    )  # fmt: skip
    assert summary["done"] == 1 and base.calls[0][0].text.count("### Question:") == 6
