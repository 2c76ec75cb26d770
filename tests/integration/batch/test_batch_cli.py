"""`spri batch` as a process against real OpenAI-compatible servers on 127.0.0.1: kills, 429s, endpoints."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import threading
import time
from typing import Any

import pytest

from spri.batch import errors_path
from tests.support.batch import check_output, make_input, run_batch
from tests.support.openai_server import Fault, OpenAIServer, Reply
from tests.support.policies import accepting
from tests.support.processes import batch_command, cli_env


@pytest.fixture
def env(tmp_path) -> dict[str, str]:
    return cli_env(tmp_path, OPENAI_API_KEY="test-key", SPRI_MAX_RETRIES="3", SPRI_TIMEOUT="20")


def test_killed_batch_resumes_with_every_id_exactly_once(env, tmp_path):
    source = make_input(tmp_path / "in.jsonl", 60)
    out = tmp_path / "out.jsonl"
    rng = random.Random(5)
    with OpenAIServer(accepting(delay=0.02)) as server:
        env["OPENAI_BASE_URL"] = server.base_url
        for _ in range(3):
            proc = subprocess.Popen(
                batch_command(source, out, "--concurrency", "8"),
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            time.sleep(rng.uniform(1.5, 3.0))
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
        done = run_batch(env, source, out, timeout=300)
    assert done.returncode == 0, done.stderr
    ids = check_output(out, 60)
    assert sorted(ids) == [f"item-{i:03d}" for i in range(60)]
    summary = json.loads(done.stdout)
    assert summary["failed"] == 0 and summary["skipped_already_done"] + summary["done"] == 60


def test_429_with_retry_after_is_honoured(env, tmp_path):
    source = make_input(tmp_path / "in.jsonl", 3)
    out = tmp_path / "out.jsonl"
    lock, seen = threading.Lock(), {"n": 0, "times": []}

    def policy(request: dict[str, Any]) -> Reply | Fault:
        with lock:
            seen["n"] += 1
            seen["times"].append(time.monotonic())
            if seen["n"] == 1:
                return Fault(
                    status=429,
                    headers={"Retry-After": "1"},
                    body='{"error": {"message": "slow down", "type": "rate_limit"}}',
                )
        return accepting()(request)

    with OpenAIServer(policy) as server:
        env["OPENAI_BASE_URL"] = server.base_url
        done = run_batch(env, source, out, "--concurrency", "1")
    assert done.returncode == 0, done.stderr
    check_output(out, 3)
    assert seen["n"] == 3 * 4 + 1  # one request was rejected and retried
    assert seen["times"][1] - seen["times"][0] >= 0.9  # ...after the server's Retry-After


def test_requests_spread_over_several_endpoints(env, tmp_path):
    source = make_input(tmp_path / "in.jsonl", 24)
    out = tmp_path / "out.jsonl"
    with OpenAIServer(accepting(delay=0.05)) as first, OpenAIServer(accepting(delay=0.05)) as second:
        env.pop("OPENAI_BASE_URL", None)
        done = run_batch(
            env, source, out, "--concurrency", "8", "--base-url", first.base_url, "--base-url", second.base_url
        )
    assert done.returncode == 0, done.stderr
    check_output(out, 24)
    counts = len(first.requests), len(second.requests)
    assert sum(counts) == 24 * 4
    assert min(counts) >= 0.35 * sum(counts), counts


def test_per_endpoint_cap_bounds_requests_in_flight(env, tmp_path):
    source = make_input(tmp_path / "in.jsonl", 16)
    out = tmp_path / "out.jsonl"
    lock, state = threading.Lock(), {"now": 0, "peak": 0}
    inner = accepting()

    def policy(request: dict[str, Any]) -> Reply:
        with lock:
            state["now"] += 1
            state["peak"] = max(state["peak"], state["now"])
        time.sleep(0.05)
        with lock:
            state["now"] -= 1
        return inner(request)

    with OpenAIServer(policy) as server:
        done = run_batch(env, source, out, "--concurrency", "16", "--base-url", server.base_url, "--max-in-flight", "3")
    assert done.returncode == 0, done.stderr
    check_output(out, 16)
    assert state["peak"] == 3


def test_bad_batch_arguments(env, tmp_path):
    source = make_input(tmp_path / "in.jsonl", 2)
    for args, message in [
        (["--shard", "3/2"], "--shard 3/2: need 0 <= I < N"),
        (["--shard", "x"], "--shard expects I/N"),
        (["--concurrency", "0"], "concurrency must be at least 1"),
        (["--field", "query"], "--field expects NAME=VALUE"),
    ]:
        done = run_batch(env, source, tmp_path / "o.jsonl", *args, timeout=60)
        assert done.returncode == 2 and message in done.stderr, (args, done.stderr)
    missing = run_batch(env, str(tmp_path / "nope.jsonl"), tmp_path / "o.jsonl", timeout=60)
    assert missing.returncode == 2 and "input file not found" in missing.stderr
    assert not (tmp_path / "o.jsonl").exists() and not errors_path(tmp_path / "o.jsonl").exists()


def test_a_batch_stopped_early_prints_its_summary(env, tmp_path):
    """Many items failing in a row (here the endpoint refuses the key) stop the batch with exit code 2,
    one line on stderr saying why, and the JSON summary on stdout like any other end."""
    source = make_input(tmp_path / "in.jsonl", 30)
    out = tmp_path / "out.jsonl"
    refused = Fault(status=401, body='{"error": {"message": "bad key", "type": "invalid_request_error"}}')
    with OpenAIServer(lambda request: refused) as server:
        env["OPENAI_BASE_URL"] = server.base_url
        done = run_batch(env, source, out, "--concurrency", "1", timeout=120)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("spri: error: 20 items in a row failed") and done.stderr.count("\n") == 1
    summary = json.loads(done.stdout)
    assert summary["failed"] == 20 and summary["done"] == 0 and summary["errors"] == str(errors_path(out))
    assert len(errors_path(out).read_text().splitlines()) == 20
