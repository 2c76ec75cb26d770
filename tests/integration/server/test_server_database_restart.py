"""`spri serve` outlives a restart of its PostgreSQL database, under load: while the database is down,
requests get 503 with ``Retry-After`` (never 500) and /ready says the database is down; within 5 s of
the database coming back, /ready is 200 again and requests succeed; no thread is lost (every thread
answered before reads back, every thread that failed continues when sent again), and nothing is
logged as a traceback. Same for `spri ask` between steps: a database back within SPRI_DB_WAIT is
invisible; one down longer gives one error line and a thread that `spri resume` finishes."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from typing import Any

import httpx

from tests.support.openai_server import OpenAIServer, Reply
from tests.support.policies import deterministic
from tests.support.postgres import private_postgres
from tests.support.processes import cli_env, spri_cli
from tests.support.serving import serving

CLIENTS = 4
FULL_RUN = 8


class Load:
    """Clients sending runs on new threads, one after another, until stopped; every answer recorded."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.answers: list[tuple[str, float, int, dict[str, Any], str | None]] = []
        self.stopping = threading.Event()
        self.clients = [threading.Thread(target=self.client, args=(i,)) for i in range(CLIENTS)]

    def client(self, number: int) -> None:
        sent = 0
        while not self.stopping.is_set():
            thread = f"load-{number}-{sent}"
            sent += 1
            body = {"input": {"query": f"Question {thread}?"}, "config": {"configurable": {"thread_id": thread}}}
            answer = httpx.post(self.url + "/spri/invoke", json=body, timeout=120)
            self.answers.append(
                (thread, time.monotonic(), answer.status_code, answer.json(), answer.headers.get("retry-after"))
            )

    def __enter__(self) -> Load:
        for client in self.clients:
            client.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stopping.set()
        for client in self.clients:
            client.join(120)


def until(probe: Any, want: Any, timeout: float) -> tuple[Any, float]:
    started = time.monotonic()
    value = probe()
    while not want(value) and time.monotonic() - started < timeout:
        time.sleep(0.1)
        value = probe()
    return value, time.monotonic() - started


def unhurried(request: dict[str, Any]) -> Reply:
    """The deterministic replies, each taking 20 ms (so runs are in flight when the database stops)."""
    reply = deterministic(request)
    reply.delay = 0.02
    return reply


def test_the_server_outlives_a_postgresql_restart_under_load(tmp_path):
    with (
        private_postgres() as database,
        OpenAIServer(unhurried) as model,
        serving(tmp_path, OPENAI_BASE_URL=model.base_url, SPRI_SERVE_DB=database.url) as server,
    ):

        def ready() -> httpx.Response:
            return httpx.get(server.url + "/ready", timeout=30)

        with Load(server.url) as load:
            time.sleep(3)
            database.stop("fast")
            stopped = time.monotonic()
            down, _ = until(ready, lambda r: r.status_code == 503, timeout=15)
            time.sleep(4)  # requests keep coming while the database is down
            database.start()
            up, took = until(ready, lambda r: r.status_code == 200, timeout=30)
            restarted = time.monotonic()
            time.sleep(3)
        assert down.status_code == 503 and "checkpoint database" in down.json()["down"], down.text
        assert up.status_code == 200 and took <= 5, (took, up.text)

        statuses = [status for _, _, status, _, _ in load.answers]
        assert set(statuses) <= {200, 503}, statuses
        failed = [(thread, body, wait) for thread, _, status, body, wait in load.answers if status == 503]
        assert failed, "no request reached the server while the database was down"
        for thread, body, wait in failed:
            assert body["error"] == "database_unavailable" and body["thread_id"] == thread and wait == "5", body
            assert "postgresql://postgres@127.0.0.1" in body["detail"]
        assert any(status == 200 and at > restarted for _, at, status, _, _ in load.answers)
        assert any(status == 200 and at < stopped for _, at, status, _, _ in load.answers)

        for thread, _, status, _, _ in load.answers:  # no thread lost
            if status == 503:  # sent again, it continues (or starts, if nothing was stored)
                body = {"input": {"query": f"Question {thread}?"}, "config": {"configurable": {"thread_id": thread}}}
                again = httpx.post(server.url + "/spri/invoke", json=body, timeout=120)
                assert again.status_code == 200 and again.json()["output"]["status"] == "done", again.text
            state = httpx.get(f"{server.url}/spri/threads/{thread}", timeout=30)
            assert state.status_code == 200 and state.json()["result"]["status"] == "done", (thread, state.text)
        log = server.log()
    assert "Traceback" not in log and " 500 " not in log


def test_spri_ask_survives_a_restart_between_steps_or_resumes(tmp_path):
    gate, held, count = threading.Event(), threading.Event(), [0]
    holding = {1, FULL_RUN + 2}  # the quick run's first call, the long run's second call

    def paced(request: dict[str, Any]) -> Reply:
        count[0] += 1  # (the client asks one call at a time)
        if count[0] in holding:  # the test restarts the database while this call is in flight
            held.set()
            gate.wait(60)
        return deterministic(request)

    env = cli_env(tmp_path, OPENAI_API_KEY="k", SPRI_MAX_RETRIES="0", SPRI_DB_WAIT="3")
    cli = [sys.executable, "-m", "spri.cli"]
    with private_postgres() as database, OpenAIServer(paced) as model:
        env["OPENAI_BASE_URL"] = model.base_url
        ask = [*cli, "ask", "Q?", "--model", "openai:fake", "--db", database.url, "--json", "-q", "--thread"]

        # down for less than SPRI_DB_WAIT between two steps: the run does not notice
        quick = subprocess.Popen([*ask, "quick"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert held.wait(60)
        database.stop("fast")
        database.start()
        gate.set()
        out, err = quick.communicate(timeout=120)
        assert quick.returncode == 0, err
        assert json.loads(out)["calls"] == FULL_RUN and err == ""

        # down for longer: one line, then a resume finishes the thread without repeating a finished step
        gate.clear()
        held.clear()
        long = subprocess.Popen([*ask, "long"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert held.wait(60)  # inside its second call
        database.stop("fast")
        gate.set()
        out, err = long.communicate(timeout=120)
        assert long.returncode == 2 and out == "", err
        assert err.count("\n") == 1 and err.startswith("spri: error: checkpoint database postgresql://"), err
        assert "is unavailable" in err and "finished steps are saved: spri resume long" in err, err
        database.start()
        before = len(model.requests)
        resumed = spri_cli("resume", "long", "--db", database.url, "--json", env=env, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["status"] == "done"
    assert len(model.requests) - before == FULL_RUN - 1  # the first step (drafted before the cut) is kept
