"""One run per thread at a time, on SQLite and PostgreSQL, across processes: while a run holds a thread, a
second `spri ask/resume` on it exits 2 with "thread T is busy" and a second server request gets 409,
both before any model call; the first run finishes with exactly its own calls. A SIGKILLed holder never
blocks its thread: it resumes at once."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.openai_server import HangingCritic, OpenAIServer
from tests.support.policies import deterministic
from tests.support.processes import cli_env
from tests.support.serving import serving

CLI = [sys.executable, "-m", "spri.cli"]
FULL_RUN = 8  # model calls of one deterministic run (tests.integration.cli.test_cli)


@pytest.fixture(params=["sqlite", "postgres"])
def database(request, tmp_path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "runs.sqlite")
    return str(request.getfixturevalue("pg_url"))


def spri(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], env=env, capture_output=True, text=True, timeout=120)


def busy_line(done: subprocess.CompletedProcess[str], thread: str) -> None:
    assert done.returncode == 2, done.stderr
    assert done.stderr == f"spri: error: thread '{thread}' is busy: another run is using it; try again when " + (
        "that run has finished\n"
    ), done.stderr


@contextmanager
def holding(database: str, tmp_path: Path, *extra: str) -> Iterator[tuple[str, dict[str, str], Any, Any, Any]]:
    """`spri ask` on a new thread, held inside its first critic call: (thread, env, model server, critic
    policy, the process)."""
    policy = HangingCritic(deterministic)
    env = cli_env(tmp_path, OPENAI_API_KEY="k", SPRI_MAX_RETRIES="0")
    thread = f"held-{uuid.uuid4().hex[:6]}"
    with OpenAIServer(policy) as server:
        env["OPENAI_BASE_URL"] = server.base_url
        ask = [*CLI, "ask", "Q?", "--model", "openai:fake", "--db", database, "--thread", thread, "-q", *extra]
        process = subprocess.Popen(ask, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert policy.reached.wait(60)
        try:
            yield thread, env, server, policy, process
        finally:
            policy.stop()
            process.communicate(timeout=120)


def test_a_second_cli_run_on_a_busy_thread_is_refused(database, tmp_path):
    with holding(database, tmp_path, "--json") as (thread, env, server, policy, first):
        seen = len(server.requests)
        busy_line(spri(env, "resume", thread, "--db", database), thread)
        busy_line(spri(env, "ask", "Other?", "--model", "openai:fake", "--db", database, "--thread", thread), thread)
        assert len(server.requests) == seen  # refused before any model call
        policy.stop()
        out, err = first.communicate(timeout=120)
        assert first.returncode == 0, err
        assert json.loads(out)["calls"] == FULL_RUN
        assert len(server.requests) == FULL_RUN + 1  # and the critic call that hung (answered 503, retried)
        again = spri(env, "resume", thread, "--db", database, "--json")  # free again: finished, nothing to run
        assert again.returncode == 0, again.stderr
        assert len(server.requests) == FULL_RUN + 1


def test_a_sigkilled_run_never_blocks_its_thread(database, tmp_path):
    with holding(database, tmp_path) as (thread, env, _, policy, holder):
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)
        policy.stop()
        resumed = spri(env, "resume", thread, "--db", database, "--json")
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["status"] == "done"


def invoke(url: str, thread: str, results: dict[str, Any]) -> None:
    body = {"input": {"query": "Q?"}, "config": {"configurable": {"thread_id": thread}}}
    results[url] = httpx.post(url + "/spri/invoke", json=body, timeout=120)


@pytest.mark.parametrize("servers", [1, 2], ids=["one-server", "two-servers"])
def test_a_second_request_on_a_busy_thread_gets_409(database, tmp_path, servers):
    policy = HangingCritic(deterministic)
    thread = f"srv-{uuid.uuid4().hex[:6]}"
    with (
        OpenAIServer(policy) as model,
        serving(tmp_path, OPENAI_BASE_URL=model.base_url, SPRI_SERVE_DB=database) as first,
        serving(tmp_path, OPENAI_BASE_URL=model.base_url, SPRI_SERVE_DB=database) as other,
    ):
        second = other if servers == 2 else first
        results: dict[str, Any] = {}
        running = threading.Thread(target=invoke, args=(first.url, thread, results))
        running.start()
        assert policy.reached.wait(60)
        seen = len(model.requests)
        refused = httpx.post(
            second.url + "/spri/invoke", json={"input": {}}, headers={"X-Thread-Id": thread}, timeout=120
        )
        assert len(model.requests) == seen
        policy.stop()
        running.join(120)
    assert refused.status_code == 409, refused.text
    assert refused.json() == {
        "detail": f"thread '{thread}' is busy: another run is using it; try again when that run has finished",
        "error": "thread_busy",
        "thread_id": thread,
    }
    done = results[first.url]
    assert done.status_code == 200 and done.json()["output"]["calls"] == FULL_RUN
    assert len(model.requests) == FULL_RUN + 1
