"""What a script reads from `spri ask/resume --json`: the result when a run pauses for review (exit code
3), and with --stream, JSON Lines events."""

from __future__ import annotations

import json

from spri.cli import EXIT_PAUSED
from tests.support.openai_server import OpenAIServer
from tests.support.policies import deterministic
from tests.support.processes import spri_cli


def test_a_review_left_paused_prints_the_pending_review_as_json(env, db):
    with OpenAIServer(deterministic) as server:
        env["OPENAI_BASE_URL"] = server.base_url
        ask = ("ask", "Q?", "--review", "--model", "openai:fake", "--db", db, "--thread", "jp", "--json")
        paused = spri_cli(*ask, env=env, input="q\n")
        assert paused.returncode == EXIT_PAUSED, paused.stderr
        result = json.loads(paused.stdout)
        assert result["status"] == "interrupted" and result["thread_id"] == "jp"
        assert result["interrupt"]["principles"] == "revised principles text" and result["response"] is None
        assert result["next_steps"] == ["review_principles"] and result["calls"] == 4  # two drafts, two critiques

        again = spri_cli("resume", "jp", "--reject", "Name the deadline.", "--db", db, "--json", env=env)
        assert again.returncode == EXIT_PAUSED, again.stderr
        refined = json.loads(again.stdout)
        assert refined["status"] == "interrupted" and refined["calls"] == 5  # one refinement more
        assert len(refined["drafts"]["principles"]) == 3

        done = spri_cli("resume", "jp", "--approve", "--db", db, "--json", env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status"] == "done"


def test_stream_with_json_writes_json_lines_events_then_the_result(env, db):
    with OpenAIServer(deterministic) as server:
        env["OPENAI_BASE_URL"] = server.base_url
        done = spri_cli("ask", "Q?", "--model", "openai:fake", "--db", db, "--stream", "--json", env=env)
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in done.stdout.splitlines()]  # every line is one JSON document
    assert {e["event"] for e in events} == {"token", "update", "result"} and events[-1]["event"] == "result"
    result = events[-1]["result"]
    assert result["status"] == "done" and result["response"] == "revised response text"
    written: dict[str, str] = {}
    for event in events:
        if event["event"] == "token":
            written[event["node"]] = written.get(event["node"], "") + event["text"]
    assert written["draft_response"] == "response text" and written["refine_response"] == "revised response text"
    updates = [e for e in events if e["event"] == "update"]
    assert [e["node"] for e in updates][-1] == "finalize"
    assert [e["score"] for e in updates if e["node"] == "judge_response"] == [2, 5]
