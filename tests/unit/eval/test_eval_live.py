"""Live evaluation on scripted models: every method runs, judgments are parsed, reports written, resumable."""

from __future__ import annotations

import json

import pytest

from spri import SpriError
from spri.eval.reappraisal import evaluate_reappraisal
from spri.eval.rubric import evaluate_rubric
from spri.jsonl import read_jsonl
from tests.support.fakes import critique, is_critic_prompt, scripted
from tests.support.paper import SYNTHETIC

POSTS = str(SYNTHETIC.path("posts"))


def base_model():
    def reply(messages):
        if is_critic_prompt(messages):
            return critique(5, "Fine.")
        if "Evaluate the response" in messages[1].text:  # rubric judgments
            return "Feedback: Solid.\nScore: 4" if "GOOD" in messages[1].text else "Feedback: Weak.\nScore: 2"
        return "1. Be specific.\n2. Be kind." if "principles" in messages[0].text.lower()[:200] else "A reply."

    return scripted(default=reply, name="fake-base")


def judge_model():
    def reply(messages):
        system = messages[0].text
        if "standards" in system:
            return "<score>7</score><rationale>Meets most standards.</rationale>"
        if "harmful" in system:
            return "1"
        return "4"

    return scripted(default=reply, name="fake-judge")


async def test_live_reappraisal_runs_every_method_and_writes_report(tmp_path):
    model, judge = base_model(), judge_model()
    methods = ["vanilla", "self-refine", "spri", "oracle"]
    rows = await evaluate_reappraisal(POSTS, methods, model=model, judge=judge, out_dir=tmp_path, limit=3)
    assert [r.method for r in rows] == methods
    for row in rows:
        assert (row.alignment, row.empathy, row.harmfulness, row.factual_consistency, row.n) == (7, 4, 1, 4, 3)
    records = read_jsonl(tmp_path / "items.jsonl")
    assert len(records) == 12
    oracle = [r for r in records if r["method"] == "oracle"]
    items = read_jsonl(POSTS)[:3]
    assert {r["principles"] for r in oracle} == {i["oracle_principles"] for i in items}
    assert {r["calls"] for r in records if r["method"] == "vanilla"} == {1}
    assert {r["calls"] for r in records if r["method"] == "spri"} == {4}
    assert all(r["judge_calls"] == 4 for r in records)
    report = (tmp_path / "report.md").read_text()
    assert "| ScriptedChatModel:fake-base | spri | 7.00 | 4.00 | 1.00 | 4.00 | 4.00 | 3 |" in report
    assert (tmp_path / "chart.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # resumable: a re-run finds everything done and calls no model
    model2, judge2 = base_model(), judge_model()
    await evaluate_reappraisal(POSTS, methods, model=model2, judge=judge2, out_dir=tmp_path, limit=3)
    assert model2.calls == [] and judge2.calls == []
    # a larger limit only runs the new items
    await evaluate_reappraisal(POSTS, ["vanilla"], model=model2, judge=judge2, out_dir=tmp_path, limit=4)
    assert len(model2.calls) == 1 and len(read_jsonl(tmp_path / "items.jsonl")) == 13


async def test_live_reappraisal_judge_output_that_never_parses_counts_as_missing(tmp_path):
    judge = scripted(default="I cannot rate this.", name="stubborn")
    rows = await evaluate_reappraisal(POSTS, ["vanilla"], model=base_model(), judge=judge, out_dir=tmp_path, limit=1)
    assert rows[0].alignment is None and rows[0].n == 1
    assert len(judge.calls) == 8  # each metric asked twice (one format reminder)


async def test_live_rubric_meta_evaluation(tmp_path):
    instances = [json.loads(line) for line in SYNTHETIC.path("instances").read_text().splitlines()[:2]]
    instances_file = tmp_path / "instances.jsonl"
    instances_file.write_text("".join(json.dumps(i) + "\n" for i in instances))
    ids = [f"{i['capability']}_{i['task']}_{i['instance_idx']}" for i in instances]
    responses = [
        {"id": ids[0], "response": "GOOD answer", "human_score": 5},
        {"id": ids[0], "response": "poor answer", "human_score": 1},
        {"id": ids[1], "response": "GOOD answer", "human_score": 4},
        {"id": ids[1], "response": "poor answer", "human_score": 2},
    ]
    responses_file = tmp_path / "responses.jsonl"
    responses_file.write_text("".join(json.dumps(r) + "\n" for r in responses))
    model = base_model()
    methods = ["vanilla", "spri", "oracle", "mt-bench-rubric"]
    table = await evaluate_rubric(
        str(instances_file), str(responses_file), methods, model=model, out_dir=tmp_path / "out"
    )
    assert {r.method for r in table} == set(methods)
    for row in table:
        assert row.judge_model == "ScriptedChatModel:fake-base" and row.n == 4
        assert row.pearson > 0.8 and row.mae == 0.5
    records = read_jsonl(tmp_path / "out" / "items.jsonl")
    spri = sorted((r for r in records if r["method"] == "spri"), key=lambda r: r["key"])
    assert [r["calls"] for r in spri] == [4, 2, 4, 2]  # one rubric per instance, reused for its other response
    assert spri[0]["rubric"] == spri[1]["rubric"]
    oracle = next(r for r in records if r["method"] == "oracle")
    assert oracle["rubric"].startswith("Criterion: ")
    csv_text = (tmp_path / "out" / "judgments.csv").read_text().splitlines()
    assert csv_text[0] == "judge_model,method,id,capability,human_score,judge_score" and len(csv_text) == 17
    assert "| ScriptedChatModel:fake-base | spri |" in (tmp_path / "out" / "report.md").read_text()


async def test_unknown_methods_are_refused_by_name_before_any_call(tmp_path):
    model = base_model()
    with pytest.raises(SpriError, match=r"unknown method\(s\) bogus: choose from vanilla, self-refine"):
        await evaluate_reappraisal(
            POSTS, ["spri", "bogus"], model=model, judge=judge_model(), out_dir=tmp_path, limit=1
        )
    with pytest.raises(SpriError, match=r"unknown method\(s\) bogus, other: choose from vanilla"):
        await evaluate_rubric("i.jsonl", "r.jsonl", ["bogus", "other"], model=model, out_dir=tmp_path)
    assert model.calls == [] and not (tmp_path / "items.jsonl").exists()
