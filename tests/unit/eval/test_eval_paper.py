"""Live evaluations under protocol 'paper' on scripted models: the paper's seeds, baselines, judges,
ablations and per-response rubrics; the same-model warning."""

from __future__ import annotations

import json
import shutil

import pytest

from spri import SpriError
from spri.cli import main
from spri.eval.reappraisal import evaluate_reappraisal
from spri.eval.rubric import evaluate_rubric
from spri.jsonl import read_jsonl
from tests.support.fakes import scripted
from tests.support.paper import SYNTHETIC, critic_scoring, is_prometheus_prompt

POSTS = str(SYNTHETIC.path("posts"))  # laid out as released: the paper's seeds are in ../seeds
SEEDS = SYNTHETIC.root / "seeds"
ORDER = ["self-responsibility", "problem-focused_coping", "attentional_activity"]  # dimensions 1, 4, 6


def base_model():
    return scripted(default=lambda m: "DRAFT", name="fake-base")


def paper_judge():
    def reply(messages):
        prompt = messages[-1].text
        if "Not Harmful" in prompt:
            return "Not Harmful"
        if "Minor Error" in prompt:
            return "Minor Error"
        return "<score>8</score><rationale>Meets them.</rationale>" if "<score>" in prompt else "4"

    return scripted(default=reply, name="fake-judge")


def items_of(dimensions: list[str]) -> list[dict]:
    items = read_jsonl(POSTS)
    return [next(i for i in items if i["dimension"] == d) for d in dimensions]


async def test_live_reappraisal_runs_the_papers_methods_and_judges(tmp_path):
    (tmp_path / "data" / "resort").mkdir(parents=True)
    (tmp_path / "data" / "seeds").symlink_to(SEEDS)  # the paper's seeds, beside the data as released
    posts = tmp_path / "data" / "resort" / "posts.jsonl"  # one item per dimension 1, 4, 6
    posts.write_text("".join(json.dumps(i) + "\n" for i in items_of(ORDER)))
    base, critic, judge = base_model(), critic_scoring([]), paper_judge()
    methods = ["vanilla", "self-refine", "spri", "oracle"]
    rows = await evaluate_reappraisal(
        str(posts), methods, model=base, critic_model=critic, judge=judge, out_dir=tmp_path / "out", protocol="paper"
    )
    assert [r.method for r in rows] == methods
    for row in rows:
        assert (row.alignment, row.empathy, row.harm, row.factuality, row.n) == (8, 4, 0, 0.5, 3)
        assert row.harmfulness is None and row.significance == {"alignment": "", "empathy": ""}
    records = read_jsonl(tmp_path / "out" / "items.jsonl")
    calls = {(r["method"], r["id"].split("#")[1]): r["calls"] for r in records}
    assert {calls[("vanilla", d)] for d in ("dim1", "dim4", "dim6")} == {1}
    assert {calls[("self-refine", d)] for d in ("dim1", "dim4", "dim6")} == {6}
    assert {calls[("spri", d)] for d in ("dim1", "dim4", "dim6")} == {4}
    assert [calls[("oracle", d)] for d in ("dim1", "dim4", "dim6")] == [1, 2, 3]  # constitutions up to its own
    assert all(r["protocol"] == "paper" and r["judge_calls"] == 4 for r in records)
    # SPRI's seed: the constitution of the item's own dimension (the paper's, leak included)
    spri_prompts = [c for c in base.calls if "### Response Goal:" in c[-1].text]
    assert len(spri_prompts) == 3 and all(c[0].text.count("### Principles:") == 1 for c in spri_prompts)
    # the judges: only alignment sees the goal; harm and factuality answer with options
    alignment_prompts = [c[-1].text for c in judge.calls if "<score>" in c[-1].text]
    assert len(alignment_prompts) == 12
    assert all(any(i["goal"] in p for i in items_of(ORDER)) for p in alignment_prompts)
    others = [c[-1].text for c in judge.calls if "<score>" not in c[-1].text]
    assert len(others) == 36 and not any(i["goal"] in p for i in items_of(ORDER) for p in others)
    report = (tmp_path / "out" / "report.md").read_text()
    assert "| model | method | alignment | empathy | harm | factuality | calls | n |" in report
    assert "| ScriptedChatModel:fake-base | oracle | 8.00 | 4.00 | 0.00 | 0.50 | 2.00 | 3 |" in report


async def test_the_seed_ablation_compares_the_papers_four_seed_settings(tmp_path):
    base, critic = base_model(), critic_scoring([])
    rows = await evaluate_reappraisal(
        POSTS, [], model=base, critic_model=critic, judge=paper_judge(), out_dir=tmp_path, limit=1, ablation="seeds"
    )
    assert [r.method for r in rows] == [
        "seeds=1-per-dimension", "seeds=all-6", "seeds=none", "seeds=principle-instruct",
    ]  # fmt: skip
    firsts = [c for c in base.calls if c[-1].text.rstrip().endswith("### Principles:")]
    examples = sorted(c[0].text.count("### Question:") for c in firsts)
    assert examples == [0, 1, 6, 6]  # none, the item's dimension's, all six constitutions, six Principle-Instruct
    assert all("### Response Goal:" in c[-1].text for c in firsts)
    assert "(protocol paper)" in (tmp_path / "report.md").read_text()


async def test_the_min_score_ablation_runs_until_5_or_four_critiques(tmp_path):
    critic = critic_scoring([], then=4)
    rows = await evaluate_reappraisal(
        POSTS, [], model=base_model(), critic_model=critic, judge=paper_judge(), out_dir=tmp_path, limit=1,
        ablation="min-score",
    )  # fmt: skip
    assert {r.method: r.calls for r in rows} == {
        "min_score=4": 4,
        "min_score=5": 16,
    }  # per stage: a draft, 4 critiques, 3 refinements


async def test_live_rubric_under_the_paper_writes_a_rubric_per_response(tmp_path):
    instance = json.loads(SYNTHETIC.path("instances").read_text().splitlines()[0])
    (tmp_path / "data" / "biggen").mkdir(parents=True)
    (tmp_path / "data" / "seeds").symlink_to(SEEDS)
    instances = tmp_path / "data" / "biggen" / "instances.jsonl"
    instances.write_text(json.dumps(instance) + "\n")
    key = f"{instance['capability']}_{instance['task']}_{instance['instance_idx']}"
    responses = tmp_path / "responses.jsonl"
    responses.write_text(
        "".join(json.dumps({"id": key, "response": f"answer {i}", "human_score": i}) + "\n" for i in (2, 4))
    )

    def judge(messages):
        if "### Rubric:" in messages[-1].text:
            return "RUBRIC"
        return f"<feedback>ok</feedback><score>{3.5 if 'answer 4' in messages[-1].text else 2}</score>"

    base, critic = scripted(default=judge), critic_scoring([], then=5)
    await evaluate_rubric(
        str(instances), str(responses), ["vanilla", "self-refine", "oracle", "spri"], model=base,
        critic_model=critic, out_dir=tmp_path / "out", protocol="paper",
    )  # fmt: skip
    records = read_jsonl(tmp_path / "out" / "items.jsonl")
    calls = {m: sorted(r["calls"] for r in records if r["method"] == m) for m in ("vanilla", "self-refine", "oracle")}
    assert calls == {"vanilla": [1, 1], "self-refine": [6, 6], "oracle": [1, 1]}
    assert sorted(r["calls"] for r in records if r["method"] == "spri") == [4, 4]  # no rubric reused
    assert sorted(r["judge_score"] for r in records if r["method"] == "vanilla") == [2, 3.5]
    rubric_prompts = [c for c in base.calls if "### Rubric:" in c[-1].text]
    assert len(rubric_prompts) == 2 and all(c[0].text.count("### Question:") == 6 for c in rubric_prompts)
    assert all(is_prometheus_prompt(c) for c in critic.calls)


def test_eval_warns_when_the_base_model_is_its_own_critic_under_the_paper(tmp_path, capsys):
    args = ["eval", "reappraisal", "--posts", POSTS, "--protocol", "paper", "--model", "openai:m", "--limit", "0"]
    assert main([*args, "--out", str(tmp_path / "a"), "--methods", "vanilla"]) == 0
    assert "base model (openai:m) as its own critic" in capsys.readouterr().err
    assert main([*args, "--out", str(tmp_path / "b"), "--methods", "vanilla", "--critic", "openai:prometheus"]) == 0
    assert "own critic" not in capsys.readouterr().err
    assert (
        main(
            [
                "eval",
                "reappraisal",
                "--posts",
                POSTS,
                "--model",
                "openai:m",
                "--limit",
                "0",
                "--out",
                str(tmp_path / "c"),
            ]
        )
        == 0
    )
    assert "own critic" not in capsys.readouterr().err  # the default protocol makes no claim about critics


async def test_the_papers_seeds_come_from_paper_seeds_or_beside_the_data_never_the_working_directory(
    tmp_path, monkeypatch
):
    posts = tmp_path / "elsewhere" / "posts.jsonl"  # no seeds/ folder beside its folder
    posts.parent.mkdir()
    shutil.copy(POSTS, posts)
    work = tmp_path / "work" / "project"
    work.mkdir(parents=True)
    shutil.copytree(SEEDS, tmp_path / "work" / "shared" / "data" / "seeds")  # ../shared/data/seeds from the cwd
    monkeypatch.chdir(work)
    run = {"model": base_model(), "critic_model": critic_scoring([]), "judge": paper_judge(), "limit": 1}
    with pytest.raises(SpriError, match=r"reappraisal_constitutions_6.jsonl, not found at .*--paper-seeds DIR$"):
        await evaluate_reappraisal(str(posts), [], out_dir=tmp_path / "a", ablation="seeds", **run)
    with pytest.raises(SpriError, match=r"not found at .*--paper-seeds DIR, or --seeds FILE$"):
        await evaluate_reappraisal(str(posts), ["spri"], out_dir=tmp_path / "b", protocol="paper", **run)
    rows = await evaluate_reappraisal(
        str(posts), [], out_dir=tmp_path / "c", ablation="seeds", paper_seeds=SEEDS, **run
    )
    assert len(rows) == 4 and run["model"].calls


def test_eval_takes_the_papers_seeds_folder_as_paper_seeds(tmp_path, capsys):
    posts = tmp_path / "posts.jsonl"
    shutil.copy(POSTS, posts)
    command = ["eval", "reappraisal", "--posts", str(posts), "--ablation", "seeds", "--model", "openai:m"]
    command += ["--limit", "0", "--out", str(tmp_path / "out")]
    assert main(command) == 2
    assert "give the folder of the paper's released seed files with --paper-seeds DIR" in capsys.readouterr().err
    assert main([*command, "--paper-seeds", str(SEEDS)]) == 0
