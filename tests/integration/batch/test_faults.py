"""Runs under injected faults: every run completes or fails with an explained, bounded error."""

from __future__ import annotations

import asyncio
import json
import random
import signal
import subprocess
import time

import pytest

from spri import arun
from spri.batch import errors_path
from spri.errors import explain
from tests.support.openai_server import FAULT_KINDS, FaultSchedule, OpenAIServer, Reply
from tests.support.policies import deterministic
from tests.support.processes import batch_command, cli_env

RUNS = 100
RUN_BOUND = 90.0  # seconds; a run that takes longer has hung


@pytest.fixture
def fault_env(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    monkeypatch.setenv("SPRI_TIMEOUT", "1")  # the schedule's hangs last 2.5 s
    monkeypatch.setenv("SPRI_MAX_RETRIES", "2")


async def test_hundred_runs_with_twenty_percent_faults(fault_env, monkeypatch):
    schedule = FaultSchedule(deterministic, rate=0.2, seed=11, hang=2.5)
    with OpenAIServer(schedule) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        semaphore = asyncio.Semaphore(20)

        async def one(i: int) -> tuple[str, float, str]:
            async with semaphore:
                start = time.monotonic()
                try:
                    result = await asyncio.wait_for(arun(f"Question {i}?", model="openai:fake"), RUN_BOUND)
                except TimeoutError:
                    return "hung", time.monotonic() - start, ""
                except Exception as exc:
                    return "failed", time.monotonic() - start, explain(exc)[0]
                assert result.response and set(result.stop_reason.values()) <= {"accepted", "critic_unparseable"}
                return "done", time.monotonic() - start, ""

        outcomes = await asyncio.gather(*(one(i) for i in range(RUNS)))
    kinds = [o[0] for o in outcomes]
    assert "hung" not in kinds
    assert kinds.count("done") >= 0.8 * RUNS, sorted({o[2] for o in outcomes})
    for kind, _, message in outcomes:
        if kind == "failed":
            assert message and not message.startswith("unexpected"), message
    assert set(schedule.injected) == set(FAULT_KINDS), schedule.injected  # every kind of fault was met
    assert sum(schedule.injected.values()) >= 0.15 * len(server.requests)
    assert max(o[1] for o in outcomes) < RUN_BOUND


def test_batch_killed_ten_times_under_faults_keeps_every_id_exactly_once(tmp_path):
    def slow(request):
        reply = deterministic(request)
        return Reply(text=reply.text, tool_args=reply.tool_args, delay=0.03)

    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps({"id": f"item-{i:03d}", "prompt": f"Q{i}?"}) + "\n" for i in range(200)))
    out = tmp_path / "out.jsonl"
    schedule = FaultSchedule(slow, rate=0.2, seed=3, hang=2.5)
    rng = random.Random(7)
    env = cli_env(tmp_path, OPENAI_API_KEY="k", SPRI_TIMEOUT="1", SPRI_MAX_RETRIES="2")
    command = batch_command(source, out, "--concurrency", "16")
    with OpenAIServer(schedule) as server:
        env["OPENAI_BASE_URL"] = server.base_url
        for _ in range(10):
            proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(rng.uniform(1.5, 4.0))
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
        final = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert final.returncode in (0, 1), final.stderr  # 1: some items failed, and are in the error file
    done_raw, errors_raw = out.read_bytes(), errors_path(out).read_bytes() if errors_path(out).exists() else b""
    for raw in (done_raw, errors_raw):
        assert not raw or raw.endswith(b"\n"), "partial line"
    done = [json.loads(line)["id"] for line in done_raw.splitlines()]
    failed = [json.loads(line) for line in errors_raw.splitlines()]
    assert len(done) == len(set(done)), "duplicate ids in the output"
    assert all(f["error"] for f in failed)
    ids = done + [f["id"] for f in failed]
    assert sorted(ids) == [f"item-{i:03d}" for i in range(200)]  # every id exactly once, output or errors
    assert len(done) >= 180
    assert sum(schedule.injected.values()) > 50
