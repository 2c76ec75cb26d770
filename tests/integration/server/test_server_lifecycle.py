"""`spri serve` start to stop: SIGTERM lets a running request finish and the process exit 0; a run cut at
--graceful-timeout resumes from its checkpoint; --workers N share the checkpoint database."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from typing import Any

import httpx

from tests.support.openai_server import OpenAIServer, Reply, is_critic_request
from tests.support.policies import deterministic, principle_drafts
from tests.support.processes import eventually
from tests.support.serving import metric_samples, server_env, serving


class Slow:
    """``deterministic``, each reply after ``delay`` seconds (critic replies after ``critic_delay``)."""

    def __init__(self, delay: float, critic_delay: float | None = None) -> None:
        self.delay, self.critic_delay = delay, critic_delay if critic_delay is not None else delay
        self.seen = threading.Semaphore(0)

    def __call__(self, request: dict[str, Any]) -> Reply:
        self.seen.release()
        reply = deterministic(request)
        reply.delay = self.critic_delay if is_critic_request(request) else self.delay
        return reply


def post_in_background(url: str, body: dict[str, Any]) -> tuple[threading.Thread, dict[str, Any]]:
    outcome: dict[str, Any] = {}

    def post() -> None:
        try:
            outcome["response"] = httpx.post(url, json=body, timeout=120)
        except httpx.HTTPError as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=post)
    thread.start()
    return thread, outcome


def test_sigterm_lets_the_running_request_finish_then_exits_0(tmp_path):
    policy = Slow(0.4)
    with OpenAIServer(policy) as model, serving(tmp_path, OPENAI_BASE_URL=model.base_url) as server:
        thread, outcome = post_in_background(server.url + "/spri/invoke", {"input": {"query": "Slow?"}})
        assert policy.seen.acquire(timeout=60)  # the run has started
        server.proc.send_signal(signal.SIGTERM)
        thread.join(120)
        code = server.proc.wait(60)
    assert "error" not in outcome, outcome
    response = outcome["response"]
    assert response.status_code == 200 and response.json()["output"]["calls"] == 8
    assert code == 0
    log = server.log()
    assert "Shutting down" in log and "Application shutdown complete" in log


def test_a_run_cut_at_the_graceful_timeout_resumes_from_its_checkpoint(tmp_path):
    policy = Slow(0.0, critic_delay=30)  # the first critique outlasts the shutdown bound
    with OpenAIServer(policy) as model:
        with serving(tmp_path, "--graceful-timeout", "1", OPENAI_BASE_URL=model.base_url) as server:
            body = {"input": {"query": "Cut?"}, "config": {"configurable": {"thread_id": "t-cut"}}}
            thread, outcome = post_in_background(server.url + "/spri/invoke", body)
            assert policy.seen.acquire(timeout=60) and policy.seen.acquire(timeout=60)  # draft done, critic asked
            server.proc.send_signal(signal.SIGTERM)
            assert server.proc.wait(60) == 0
            thread.join(60)
        assert "response" not in outcome or outcome["response"].status_code != 200
        policy.critic_delay = 0.0
        with serving(tmp_path, OPENAI_BASE_URL=model.base_url) as server:
            state = httpx.get(server.url + "/spri/threads/t-cut", timeout=30).json()
            assert state["result"]["status"] == "incomplete" and state["result"]["next_steps"] == ["judge_principles"]
            resumed = httpx.post(
                server.url + "/spri/invoke",
                json={"input": {}, "config": {"configurable": {"thread_id": "t-cut"}}},
                timeout=120,
            )
    assert resumed.status_code == 200 and resumed.json()["output"]["response"] == "revised response text"
    assert principle_drafts(model.requests) == 2  # the draft stored before the cut was not made again


def request_lines(log: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("event") == "request"]


async def invoke_many(url: str, count: int) -> list[httpx.Response]:
    async with httpx.AsyncClient(timeout=300, limits=httpx.Limits(max_connections=count)) as client:
        return await asyncio.gather(
            *(client.post(url + "/spri/invoke", json={"input": {"query": f"Concurrent {i}?"}}) for i in range(count))
        )


def test_two_workers_on_postgres_serve_50_concurrent_requests(pg_url, tmp_path):
    with (
        OpenAIServer(Slow(0.02)) as model,
        serving(
            tmp_path, "--workers", "2", "--log-format", "json", OPENAI_BASE_URL=model.base_url, SPRI_SERVE_DB=pg_url
        ) as server,
    ):
        responses = asyncio.run(invoke_many(server.url, 50))
        assert [r.status_code for r in responses] == [200] * 50
        assert all(r.json()["output"]["calls"] == 8 for r in responses)
        calls = eventually(
            lambda: sum(v for (name, _), v in metric_samples(server.url).items() if name == "spri_model_calls_total"),
            lambda total: total == 400,
        )
    assert calls == 400  # one scrape sums both workers' counters


def test_a_thread_paused_in_one_worker_continues_in_another(pg_url, tmp_path):
    config = {"configurable": {"thread_id": "t-workers", "review_principles": True}}
    with (
        OpenAIServer(deterministic) as model,
        serving(
            tmp_path, "--workers", "2", "--log-format", "json", OPENAI_BASE_URL=model.base_url, SPRI_SERVE_DB=pg_url
        ) as server,
    ):
        paused = httpx.post(server.url + "/spri/invoke", json={"input": {"query": "Q?"}, "config": config}, timeout=120)
        assert paused.json()["output"]["status"] == "interrupted"
        server.wait_for_log('"path": "/spri/invoke"')
        (pause_line,) = [line for line in request_lines(server.log()) if line["path"] == "/spri/invoke"]
        os.kill(pause_line["pid"], signal.SIGKILL)  # that worker is gone (uvicorn starts a new one)
        body = {"input": {"resume": "approve"}, "config": config}
        done = httpx.post(server.url + "/spri/invoke", json=body, timeout=120)
        lines = eventually(
            lambda: [line for line in request_lines(server.log()) if line["path"] == "/spri/invoke"],
            lambda found: len(found) == 2,
        )
    assert done.status_code == 200, done.text
    assert done.json()["output"]["status"] == "done" and done.json()["output"]["review"] == "approved"
    resume_line = lines[-1]
    assert resume_line["pid"] != pause_line["pid"] and resume_line["thread_id"] == "t-workers"


def test_two_workers_share_a_sqlite_database_on_one_machine(tmp_path):
    with (
        OpenAIServer(Slow(0.02)) as model,
        serving(tmp_path, "--workers", "2", OPENAI_BASE_URL=model.base_url) as server,
    ):
        responses = asyncio.run(invoke_many(server.url, 20))
    assert [r.status_code for r in responses] == [200] * 20


def test_settings_or_a_port_that_cannot_work_stop_it_with_one_line(tmp_path):
    command = [sys.executable, "-m", "spri.cli", "serve"]
    bad_keys = subprocess.run(
        command, env=server_env(tmp_path, SPRI_API_KEYS="alice"), capture_output=True, text=True, timeout=120
    )
    assert bad_keys.returncode == 2 and bad_keys.stderr.startswith("spri: error: SPRI_API_KEYS expects NAME:KEY")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        in_use = subprocess.run(
            [*command, "--port", str(port)], env=server_env(tmp_path), capture_output=True, text=True, timeout=120
        )
    assert in_use.returncode == 2
    assert (
        in_use.stderr.splitlines()[-1]
        == f"spri: error: cannot serve on 127.0.0.1:{port} (see the log above; is the port in use?)"
    )
    assert "Traceback" not in in_use.stderr
