"""The `spri` command against a real OpenAI-compatible server on 127.0.0.1 (langchain-openai path)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from typing import Any

import pytest

from spri.cli import EXIT_PAUSED
from tests.support.openai_server import HangingCritic, OpenAIServer, Reply, free_port, is_critic_request
from tests.support.policies import deterministic
from tests.support.processes import cli_env, spri_cli


def ask_json(policy: Any, env: dict[str, str], db: str, *args: str) -> dict[str, Any]:
    """`spri ask ARGS --json` against a fresh fake server answering with ``policy``."""
    with OpenAIServer(policy) as server:
        env["OPENAI_BASE_URL"] = server.base_url
        done = spri_cli("ask", *args, "--model", "openai:fake", "--db", db, "--json", env=env)
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def test_ask_json_over_openai_endpoint(env, db):
    with OpenAIServer(deterministic) as server:
        env["OPENAI_BASE_URL"] = server.base_url
        done = spri_cli("ask", "How do I start running?", "--model", "openai:fake", "--db", db, "--json", env=env)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["principles"] == "revised principles text"
    assert result["response"] == "revised response text"
    assert [c["score"] for c in result["critiques"]["principles"]] == [2, 5]
    assert result["stop_reason"] == {"principles": "accepted", "response": "accepted"}
    assert result["calls"] == 8 and isinstance(result["calls"], int)
    assert result["calls_per_stage"] == {"principles": 4, "response": 4}
    assert result["tokens"]["total"] > 0 and set(result["tokens_per_stage"]) == {"principles", "response"}
    # the critic was asked through function calling (structured output)
    critic_requests = [r for r in server.requests if r.get("tools")]
    assert len(critic_requests) == 4
    # progress on stderr names stage, round and score
    assert "[principles] round 1: score 2/5" in done.stderr
    assert "[response] round 2: score 5/5" in done.stderr


def test_plain_output_is_the_response(env, db):
    with OpenAIServer(deterministic) as server:
        env["OPENAI_BASE_URL"] = server.base_url
        done = spri_cli("ask", "Q?", "--model", "openai:fake", "--db", db, "-q", env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "revised response text"
    assert done.stderr == ""


def test_show_prints_the_stage_history(env, db):
    with OpenAIServer(deterministic) as server:
        env["OPENAI_BASE_URL"] = server.base_url
        asked = spri_cli("ask", "Q?", "--model", "openai:fake", "--db", db, "--thread", "t1", "--json", env=env)
    shown = spri_cli("show", "t1", "--db", db, env=env)
    assert shown.returncode == 0, shown.stderr
    assert "finished" in shown.stdout
    assert "== principles, draft 1 ==\nprinciples text" in shown.stdout
    assert "-- critique: 2/5 --" in shown.stdout
    assert "(response: accepted)" in shown.stdout
    as_json = json.loads(spri_cli("show", "t1", "--db", db, "--json", env=env).stdout)
    assert as_json == json.loads(asked.stdout)  # show --json is the shape (and here the content) of ask --json


@pytest.mark.parametrize(
    "args,message",
    [
        (["ask", ""], "the query is empty"),
        (["ask", "   "], "the query is empty"),
        (["ask", "Q?", "--seeds", "/no/such/seeds.jsonl"], "--seeds: file not found"),
        (["ask", "Q?", "--min-score", "6"], "min_score"),
        (["ask", "Q?", "--max-rounds", "0"], "max_rounds"),
        (["ask", "@/no/such/query.txt"], "query: file not found"),
        (["ask", "Q?", "--profile", "nope"], "unknown profile 'nope'"),
        (["ask", "Q?", "--min-score", "four"], "invalid int value"),
        (["resume", "unknown-thread"], "no run with thread id 'unknown-thread'"),
        (["show", "unknown-thread"], "no run with thread id 'unknown-thread'"),
        (["ask", "Is it right?", "--profile", "rubric"], "profile 'rubric' needs --response"),
        (["ask", "Post.", "--profile", "reappraisal"], "profile 'reappraisal' needs --goal"),
    ],
)
def test_user_errors_exit_2_with_one_clear_line(env, db, args, message):
    done = (
        spri_cli(*args, "--db", db, "--model", "openai:fake", env=env)
        if args[0] != "show"
        else spri_cli(*args, "--db", db, env=env)
    )
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_unreachable_endpoint_is_named(env, db):
    env["OPENAI_BASE_URL"] = f"http://127.0.0.1:{free_port()}/v1"
    done = spri_cli("ask", "Q?", "--model", "openai:fake", "--db", db, env=env)
    assert done.returncode == 2
    assert f"cannot reach the model endpoint {env['OPENAI_BASE_URL']}" in done.stderr
    assert "Traceback" not in done.stderr


def test_missing_api_key(env, db):
    env.pop("OPENAI_API_KEY")
    done = spri_cli("ask", "Q?", "--model", "openai:fake", "--db", db, env=env)
    assert done.returncode == 2 and "needs OPENAI_API_KEY" in done.stderr


def test_kill_inside_the_critic_then_resume_from_sqlite(env, db):
    """SIGKILL while the critic call is in flight; a new process resumes; nothing finished runs again."""
    policy = HangingCritic(deterministic)

    with OpenAIServer(policy) as server:
        env["OPENAI_BASE_URL"] = server.base_url
        proc = subprocess.Popen(
            [sys.executable, "-m", "spri.cli", "ask", "Q?", "--model", "openai:fake", "--db", db, "--thread", "k1"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert policy.reached.wait(60), "the critic was never called"
        time.sleep(0.2)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        policy.stop()
        drafts_before = sum(1 for r in server.requests if not is_critic_request(r))
        assert drafts_before == 1

        resumed = spri_cli("resume", "k1", "--db", db, "--json", env=env)
        assert resumed.returncode == 0, resumed.stderr
        principle_drafts = [
            r
            for r in server.requests
            if not is_critic_request(r)
            and "guiding principles" in r["messages"][0]["content"]
            and len(r["messages"]) == 2
        ]
        assert len(principle_drafts) == 1, "draft_principles ran again after the resume"

        uninterrupted = spri_cli("ask", "Q?", "--model", "openai:fake", "--db", db, "--thread", "k2", "--json", env=env)
    a, b = json.loads(resumed.stdout), json.loads(uninterrupted.stdout)
    a.pop("thread_id"), b.pop("thread_id")
    assert a == b


def test_rubric_profile_judges_a_response_from_a_file(env, db, tmp_path):
    answer = tmp_path / "answer.txt"
    answer.write_text("Ten pens cost $6.67.")

    def judging(request: dict[str, Any]) -> Reply:
        first_user_message = request["messages"][1]["content"]
        if request.get("tools") and "Evaluate the response" in first_user_message:
            # the judgment itself is a verdict, asked through function calling like a critique
            assert "Ten pens cost $6.67." in first_user_message
            return Reply(tool_args={"feedback": "Ignores the packs.", "score": 2})
        if is_critic_request(request):
            return Reply(tool_args={"feedback": "Sound.", "score": 5})
        return Reply(text="Criterion: Buys 4 packs?\nScore 1: no\nScore 2: -\nScore 3: -\nScore 4: -\nScore 5: yes")

    question, reference = "How much do 10 pens cost at 3 for $2?", "$8 (four packs)"
    result = ask_json(
        judging, env, db, question, "--profile", "rubric", "--response", f"@{answer}", "--reference", reference
    )
    assert result["score"] == 2 and result["feedback"] == "Ignores the packs."
    assert result["rubric"].startswith("Criterion: Buys 4 packs?")
    assert result["calls"] == 4


@pytest.mark.parametrize("method,calls", [("vanilla", 1), ("self-refine", 2), ("fixed-principles", 2)])
def test_baselines_from_the_cli(env, db, method, calls):
    def accept(request: dict[str, Any]) -> Reply:
        if is_critic_request(request):
            return Reply(tool_args={"feedback": "Fine.", "score": 5})
        return Reply(text="an answer")

    post, goal = "My friend forgot my birthday.", "See it is not about me."
    args = ("--profile", "reappraisal", "--goal", goal, "--method", method, "--principles", "Be kind.")
    result = ask_json(accept, env, db, post, *args)
    assert result["calls"] == calls


def test_review_pauses_and_a_new_process_resumes_with_an_edit(env, db):
    with OpenAIServer(deterministic) as server:
        env["OPENAI_BASE_URL"] = server.base_url
        paused = spri_cli(
            "ask", "Q?", "--review", "--model", "openai:fake", "--db", db, "--thread", "rv", env=env, input="q\n"
        )
        assert paused.returncode == EXIT_PAUSED, paused.stderr
        assert "principles for review" in paused.stderr and "revised principles text" in paused.stderr
        assert "spri resume rv --approve" in paused.stderr
        assert paused.stdout == ""
        resumed = spri_cli("resume", "rv", "--edit", "1. Keep it short.", "--db", db, "--json", env=env)
    assert resumed.returncode == 0, resumed.stderr
    result = json.loads(resumed.stdout)
    assert result["principles"] == "1. Keep it short." and result["review"] == "edited"
    assert result["status"] == "done" and result["response"] == "revised response text"


def test_a_rejection_from_the_command_line_refines_then_pauses_again(env, db):
    with OpenAIServer(deterministic) as server:
        env["OPENAI_BASE_URL"] = server.base_url
        ask = ("ask", "Q?", "--review", "--model", "openai:fake", "--db", db, "--thread", "rj")
        assert spri_cli(*ask, env=env, input="q\n").returncode == EXIT_PAUSED
        shown = json.loads(spri_cli("show", "rj", "--db", db, "--json", env=env).stdout)
        paused_drafts = shown["drafts"]["principles"]
        before = len(server.requests)
        rejected = spri_cli("resume", "rj", "--reject", "Name the deadline.", "--db", db, env=env)
        assert rejected.returncode == EXIT_PAUSED, rejected.stderr
        assert "--reject NOTE|@FILE" in rejected.stderr and rejected.stdout == ""
        refined = server.requests[before:]
        assert len(refined) == 1 and "Name the deadline." in json.dumps(refined[0])  # one refinement, the note
        done = spri_cli("resume", "rj", "--approve", "--db", db, "--json", env=env)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["review"] == "approved" and result["status"] == "done"
    assert len(result["drafts"]["principles"]) == len(paused_drafts) + 1  # the rejected draft refined once


def test_review_in_the_terminal(env, db):
    with OpenAIServer(deterministic) as server:
        env["OPENAI_BASE_URL"] = server.base_url
        done = spri_cli(
            "ask",
            "Q?",
            "--review",
            "--model",
            "openai:fake",
            "--db",
            db,
            "--json",
            env=env,
            input="e\n1. Be kind.\n2. Be brief.\n.\n",
        )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["principles"] == "1. Be kind.\n2. Be brief." and result["review"] == "edited"


def test_synchronous_api_twice_in_a_row_against_an_endpoint(monkeypatch):
    """Each spri.run() has its own event loop; HTTP clients must not outlive theirs."""
    import spri

    with OpenAIServer(deterministic) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "test-key")
        monkeypatch.setenv("SPRI_MAX_RETRIES", "0")
        first = spri.run("First?", model="openai:fake")
        second = spri.run("Second?", model="openai:fake")
    assert first.calls == second.calls == 8


async def test_a_reader_that_stops_early_is_not_an_error(tmp_path, db):
    from spri import arun
    from tests.support.fakes import critique, scripted

    long_response = "\n".join(f"line {i}: " + "x" * 60 for i in range(3000))  # far more than a pipe holds
    await arun("Q?", model=scripted("P", critique(5), long_response, critique(5)), checkpointer=db, thread_id="long")
    env = cli_env(tmp_path)
    done = subprocess.run(
        f"{sys.executable} -m spri.cli show long --db {db} | head -1",
        shell=True,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.stdout == "thread long: finished\n"
    assert done.stderr == ""


def test_stream_prints_each_response_draft_as_it_is_written(env, db):
    with OpenAIServer(deterministic) as server:
        env["OPENAI_BASE_URL"] = server.base_url
        done = spri_cli("ask", "Q?", "--model", "openai:fake", "--db", db, "--stream", env=env)
        drafts = [r for r in server.requests if not is_critic_request(r)]
    assert done.returncode == 0, done.stderr
    # only the response drafts reach stdout (not the principles, not the critic's verdicts)
    assert done.stdout == "response text\n--- revised ---\nrevised response text\n"
    assert "[response] round 1: score 2/5" in done.stderr
    assert all(r.get("stream") for r in drafts)  # the drafts were really streamed by the endpoint


def test_a_repeated_ask_with_the_cache_makes_no_model_request(env, db, tmp_path):
    cache = str(tmp_path / "calls.sqlite")
    with OpenAIServer(deterministic) as server:
        env["OPENAI_BASE_URL"] = server.base_url
        first = spri_cli("ask", "Q?", "--model", "openai:fake", "--db", db, "--cache", cache, "--json", env=env)
        made = len(server.requests)
        again = spri_cli("ask", "Q?", "--model", "openai:fake", "--db", db, "--cache", cache, "--json", env=env)
        assert len(server.requests) == made == 8  # the second run asked the endpoint nothing
        env["SPRI_CACHE"] = cache
        by_env = spri_cli("ask", "Q?", "--model", "openai:fake", "--db", db, "--json", env=env)
        other = spri_cli("ask", "Q?", "--model", "openai:fake", "--db", db, "--max-tokens", "300", env=env)
        assert len(server.requests) == 16  # another max_tokens is another call
    assert first.returncode == again.returncode == by_env.returncode == other.returncode == 0
    a, b, c = (json.loads(done.stdout) for done in (first, again, by_env))
    assert a["response"] == b["response"] == c["response"] == "revised response text"
    assert a["critiques"] == b["critiques"] == c["critiques"]
    assert (a["calls"], a["cache_hits"]) == (8, 0)
    assert (b["calls"], b["cache_hits"], b["tokens"]["total"]) == (0, 8, 0)
