"""`spri ask --json` and `spri batch` under --protocol paper against an OpenAI-compatible server on
127.0.0.1: the calls each method made are reported, per stage and per role, and match the requests."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.support.openai_server import OpenAIServer, Reply
from tests.support.paper import PAPER_SEEDS
from tests.support.processes import batch_command


def paper_policy(request: dict[str, Any]) -> Reply:
    """Prometheus-style critiques (and base-model self-critiques) accept; anything else is a draft."""
    text = "\n".join(str(m.get("content")) for m in request["messages"])
    if "### Task Description:" in text and "[RESULT]" in text:
        return Reply(text="Feedback: Clear and on point. [RESULT] 4")
    if "[RESULT]:" in text:
        return Reply(text="Feedback: Accurate enough. [RESULT]: 4")
    return Reply(text=f"draft {len(text)}")


def ask(env: dict[str, str], db: str, *args: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    with OpenAIServer(paper_policy) as server:
        env["OPENAI_BASE_URL"] = server.base_url
        command = [sys.executable, "-m", "spri.cli", "ask", *args, "--protocol", "paper", "--db", db, "--json"]
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout), server.requests


def test_ask_json_reports_the_calls_of_the_paper_self_refine(env, db):
    post = "My roommate keeps eating my food and I exploded at him yesterday."
    args = ("--profile", "reappraisal", "--goal", "Help them weigh their share.", "--method", "self-refine")
    result, requests = ask(env, db, post, *args, "--model", "openai:base")
    assert result["calls"] == 6 == len(requests)
    assert result["calls_per_stage"] == {"response": 6} and result["calls_per_role"] == {"base": 6, "critic": 0}
    assert not any(r.get("tools") for r in requests)


def test_ask_json_reports_base_and_critic_calls_of_spri(env, db):
    models = ("--model", "openai:base", "--critic", "openai:judge")
    result, requests = ask(env, db, "How do I keep basil alive?", *models, "--paper-seeds", PAPER_SEEDS)
    assert result["calls"] == 4 and result["calls_per_role"] == {"base": 2, "critic": 2}
    assert requests[0]["messages"][0]["content"].count("### Question:") == 6  # the paper's six seeds
    assert [r["model"] for r in requests] == ["base", "judge", "base", "judge"]
    critic_requests = [r for r in requests if r["model"] == "judge"]
    assert all(len(r["messages"]) == 1 and not r.get("tools") for r in critic_requests)  # no system, no tools
    assert [c["score"] for c in result["critiques"]["principles"]] == [4]


def test_batch_reports_each_items_calls(env, tmp_path: Path):
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps({"id": f"q{i}", "prompt": f"Question {i}?"}) + "\n" for i in range(3)))
    out = tmp_path / "out.jsonl"
    with OpenAIServer(paper_policy) as server:
        env["OPENAI_BASE_URL"] = server.base_url
        command = batch_command(source, out, "--protocol", "paper", "--method", "self-refine")
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(records) == 3
    for record in records:  # Table 4's self-refine: a draft, one self-critique that accepts
        assert record["calls"] == 2 and record["calls_per_role"] == {"base": 2, "critic": 0}
        assert record["stop_reason"] == {"response": "accepted"} and record["method"] == "self-refine"
    assert json.loads(done.stdout)["calls"] == 6 == len(server.requests)


def test_ask_without_the_papers_seeds_is_refused_in_one_line_before_any_request(env, db):
    env.pop("SPRI_PAPER_SEEDS", None)
    with OpenAIServer(paper_policy) as server:
        env["OPENAI_BASE_URL"] = server.base_url
        command = [
            sys.executable,
            "-m",
            "spri.cli",
            "ask",
            "Q?",
            "--protocol",
            "paper",
            "--db",
            db,
            "--model",
            "openai:b",
        ]
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and server.requests == []
    assert "principles_6.jsonl" in done.stderr and "--paper-seeds DIR" in done.stderr
