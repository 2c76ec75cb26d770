"""LangSmith traces of each stage, sent to a recording server on 127.0.0.1 (never to the internet)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from tests.support import ROOT
from tests.support.langsmith_recorder import LangSmithRecorder, base_env

SCRIPT = textwrap.dedent(
    """
    import asyncio
    from langchain_core.tracers.langchain import wait_for_all_tracers
    from spri import arun
    from tests.support.fakes import critique, scripted

    model = scripted("P1", critique(2, "too vague"), "P2", critique(5), "R1", critique(4))
    result = asyncio.run(arun("How do I ask for a raise?", model=model, checkpointer="memory"))
    assert result.calls == 6, result
    wait_for_all_tracers()
    """
)


def run_script(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_each_stage_is_a_named_run_with_metadata():
    with LangSmithRecorder() as recorder:
        env = base_env(recorder.url)
        env["LANGSMITH_TRACING"] = "true"
        done = run_script(env)
        assert done.returncode == 0, done.stderr
        runs = dict(recorder.runs)
        feedback = list(recorder.feedback)
    assert any(r.startswith("POST /runs/multipart") for r in recorder.requests)

    def meta(run):
        return (run.get("extra") or {}).get("metadata") or {}

    def named(name):
        return [r for r in runs.values() if r.get("name") == name]

    (root,) = named("spri")
    root_id = next(run_id for run_id, run in runs.items() if run is root)
    assert meta(root)["profile"] == "general" and meta(root)["method"] == "spri"
    for stage in ("begin", "draft_principles", "refine_principles", "draft_response", "finalize"):
        (run,) = named(stage)
        assert run["parent_run_id"] == root_id, stage
        assert meta(run)["profile"] == "general" and meta(run)["method"] == "spri"
    judges = sorted(named("judge_principles"), key=lambda r: meta(r)["round"])
    assert [(meta(r)["round"], meta(r)["score"]) for r in judges] == [(1, 2), (2, 5)]
    assert meta(named("refine_principles")[0])["round"] == 2
    (judge_response,) = named("judge_response")
    assert (meta(judge_response)["round"], meta(judge_response)["score"]) == (1, 4)
    assert meta(named("finalize")[0])["stop_reason"] == "principles:accepted,response:accepted"

    # model calls are runs named for their role, under the stage that made them
    by_id = runs  # keyed by run id
    base_calls, critic_calls = named("base"), named("critic")
    assert len(base_calls) == 3 and len(critic_calls) == 3
    assert {by_id[r["parent_run_id"]]["name"] for r in critic_calls} == {"judge_principles", "judge_response"}
    assert {by_id[r["parent_run_id"]]["name"] for r in base_calls} == {
        "draft_principles",
        "refine_principles",
        "draft_response",
    }
    assert all(r.get("run_type") == "llm" for r in base_calls + critic_calls)

    # the final critic score of each stage is feedback on the root run
    scores = {f["key"]: (f["score"], f["run_id"]) for f in feedback}
    assert scores == {"principles_score": (5.0, root_id), "response_score": (4.0, root_id)}


def test_nothing_is_sent_when_tracing_is_off():
    with LangSmithRecorder() as recorder:
        env = base_env(recorder.url)
        env["LANGSMITH_TRACING"] = "false"
        done = run_script(env)
        assert done.returncode == 0, done.stderr
    assert recorder.requests == [] and recorder.runs == {} and recorder.feedback == []
