"""`spri batch` as a process: a second run on the same output is refused while the first runs; SIGTERM
and Ctrl-C end with the summary and how to continue; a bad -o costs no model call."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.batch import check_output, make_input, run_batch
from tests.support.openai_server import OpenAIServer, Reply
from tests.support.policies import accepting
from tests.support.processes import batch_command, cli_env
from tests.support.readonly import unwritable_dir


@pytest.fixture
def env(tmp_path) -> dict[str, str]:
    return cli_env(tmp_path, OPENAI_API_KEY="test-key", SPRI_MAX_RETRIES="3", SPRI_TIMEOUT="20")


def wait_for_lines(path: Path, n: int, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if path.exists() and path.read_bytes().count(b"\n") >= n:
            return
        time.sleep(0.05)
    raise AssertionError(f"{path} did not reach {n} lines (exit code {proc.poll()})")


def held_after(requests: int, release: threading.Event) -> Callable[[dict[str, Any]], Reply]:
    """An accepting model whose answers after the first ``requests`` wait until ``release`` is set."""
    lock, seen, answer = threading.Lock(), {"n": 0}, accepting()

    def held(request: dict[str, Any]) -> Reply:
        with lock:
            seen["n"] += 1
            first = seen["n"] <= requests
        if not first:
            release.wait(120)
        return answer(request)

    return held


def test_two_batches_on_one_output_the_second_refused_naming_the_first(env, tmp_path):
    source = make_input(tmp_path / "in.jsonl", 30)
    out = tmp_path / "out.jsonl"
    release = threading.Event()
    held = held_after(8, release)  # the first two items go through, then the first batch waits

    with OpenAIServer(held) as server:
        env["OPENAI_BASE_URL"] = server.base_url
        first = subprocess.Popen(batch_command(source, out, "--concurrency", "1"), env=env, stdout=subprocess.PIPE)
        try:
            wait_for_lines(out, 2, first)
            second = run_batch(env, source, out, timeout=120)
        finally:
            release.set()
        assert second.returncode == 2, second.stderr
        assert f"being written by another spri batch (pid {first.pid} on " in second.stderr
        assert second.stderr.count("\n") == 1 and "Traceback" not in second.stderr
        stdout, _ = first.communicate(timeout=300)
    assert first.returncode == 0
    check_output(out, 30)
    assert json.loads(stdout)["done"] == 30


def test_a_second_batch_under_another_name_of_the_output_is_refused(env, tmp_path):
    """The lock holds for the file, not the name: a symlink, a path through '..' and a hard link to a
    running batch's output are all refused; the symlink stays a symlink and every id is there once."""
    source = make_input(tmp_path / "in.jsonl", 30)
    out = tmp_path / "data" / "out.jsonl"
    release = threading.Event()
    held = held_after(8, release)  # the first two items go through, then the first batch waits

    (tmp_path / "elsewhere").mkdir()
    link = tmp_path / "link.jsonl"
    link.symlink_to(out)
    with OpenAIServer(held) as server:
        env["OPENAI_BASE_URL"] = server.base_url
        first = subprocess.Popen(batch_command(source, out, "--concurrency", "1"), env=env, stdout=subprocess.PIPE)
        try:
            wait_for_lines(out, 2, first)
            os.link(out, tmp_path / "hard.jsonl")
            names = [link, tmp_path / "elsewhere" / ".." / "data" / "out.jsonl", tmp_path / "hard.jsonl"]
            others = [run_batch(env, source, name, timeout=120) for name in names]
        finally:
            release.set()
        for other in others:
            assert other.returncode == 2, other.stderr
            assert "is being written by another spri batch (" in other.stderr and "Traceback" not in other.stderr
        assert f"(pid {first.pid} on " in others[0].stderr and f"pid {first.pid} on " in others[2].stderr
        stdout, _ = first.communicate(timeout=300)
        assert first.returncode == 0 and json.loads(stdout)["done"] == 30
        again = run_batch(env, source, link, timeout=120)
    assert again.returncode == 0 and json.loads(again.stdout)["skipped_already_done"] == 30
    assert link.is_symlink() and link.resolve() == out
    check_output(out, 30)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_stopped_batch_prints_its_summary_and_how_to_continue(env, tmp_path, signum):
    source = make_input(tmp_path / "in.jsonl", 40)
    out = tmp_path / "out.jsonl"
    release = threading.Event()
    held = held_after(12, release)  # three items go through, then requests wait (in flight at the signal)

    with OpenAIServer(held) as server:
        env["OPENAI_BASE_URL"] = server.base_url
        proc = subprocess.Popen(
            batch_command(source, out, "--concurrency", "1"),
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            wait_for_lines(out, 3, proc)
            proc.send_signal(signum)
            stdout, stderr = proc.communicate(timeout=120)
        finally:
            release.set()
        assert proc.returncode == {signal.SIGTERM: 143, signal.SIGINT: 130}[signum], stderr
        summary = json.loads(stdout)
        name = signal.Signals(signum).name
        assert f"spri: interrupted ({name}); finished items are saved in {out}: run the same command again" in stderr
        assert "Traceback" not in stderr
        finished = check_output(out, summary["done"])
        assert summary["total"] == 40 and summary["done"] == 3
        done = run_batch(env, source, out, timeout=300)
    assert done.returncode == 0, done.stderr
    assert sorted(check_output(out, 40)) == [f"item-{i:03d}" for i in range(40)]
    assert json.loads(done.stdout)["skipped_already_done"] == len(finished)


def test_an_unwritable_output_is_refused_before_any_model_call(env, tmp_path):
    source = make_input(tmp_path / "in.jsonl", 5)
    with OpenAIServer(accepting()) as server, unwritable_dir(tmp_path / "readonly") as folder:
        env["OPENAI_BASE_URL"] = server.base_url
        done = run_batch(env, source, folder / "out.jsonl", timeout=120)
        assert done.returncode == 2 and "Traceback" not in done.stderr
        assert done.stderr.startswith(f"spri: error: cannot write {folder / 'out.jsonl'}: ")
        assert done.stderr.count("\n") == 1
        assert server.requests == []


def test_the_input_as_output_is_refused_unchanged(env, tmp_path):
    source = make_input(tmp_path / "in.jsonl", 3)
    before = Path(source).read_bytes()
    with OpenAIServer(accepting()) as server:
        env["OPENAI_BASE_URL"] = server.base_url
        done = run_batch(env, source, Path(source), timeout=120)
        assert done.returncode == 2 and "would overwrite the input" in done.stderr
        assert server.requests == []
    assert Path(source).read_bytes() == before
