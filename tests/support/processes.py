"""Running spri (and langgraph dev) as child processes in tests and benchmarks: an isolated environment,
and waiting for an HTTP server to come up without hiding why it did not."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx


def cli_env(home: Path, **extra: str) -> dict[str, str]:
    """This environment with HOME (and so the default checkpoint database) under ``home``, tracing off
    (a test must never reach api.smith.langchain.com), and ``extra`` on top."""
    env = {
        **os.environ,
        "HOME": str(home),
        "XDG_DATA_HOME": str(home / "data"),
        "LANGSMITH_TRACING": "false",
        **extra,
    }
    env.pop("LANGSMITH_API_KEY", None)
    return env


def spri_cli(*args: str, env: dict[str, str], timeout: float = 60, **kwargs: Any) -> subprocess.CompletedProcess:
    """`spri ARGS` as a child process (this Python), output captured as text."""
    return subprocess.run(
        [sys.executable, "-m", "spri.cli", *args], env=env, capture_output=True, text=True, timeout=timeout, **kwargs
    )


def spri_cli_bytes(env: dict[str, str], *args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[str]:
    """`spri ARGS` with ``stdin`` as raw bytes (which may not be UTF-8); output decoded."""
    done = subprocess.run(
        [sys.executable, "-m", "spri.cli", *args], env=env, input=stdin, capture_output=True, timeout=120
    )
    return subprocess.CompletedProcess(done.args, done.returncode, done.stdout.decode(), done.stderr.decode())


def one_line_error(done: subprocess.CompletedProcess[str], *parts: str) -> None:
    """``done`` failed with exit code 2 and one line `spri: error: ...` holding each of ``parts``."""
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("spri: error: "), done.stderr
    for part in parts:
        assert part in done.stderr, done.stderr


def show_and_ask(env: dict[str, str], db: str) -> list[subprocess.CompletedProcess[str]]:
    """`spri show` and `spri ask` on the database ``db``: the two ways a command opens one."""
    return [
        spri_cli_bytes(env, "show", "t1", "--db", db),
        spri_cli_bytes(env, "ask", "How do I sleep better?", "--model", "openai:fake", "--db", db, "-q"),
    ]


def eventually(probe: Callable[[], Any], want: Callable[[Any], bool], timeout: float = 60) -> Any:
    """Call ``probe`` until ``want`` holds for what it returns; the last value otherwise (the assert fails)."""
    deadline = time.monotonic() + timeout
    value = probe()
    while not want(value) and time.monotonic() < deadline:
        time.sleep(0.2)
        value = probe()
    return value


def wait_for_http(url: str, proc: subprocess.Popen, *, timeout: float = 60.0) -> None:
    """Poll ``url`` until it answers 200. If ``proc`` exits or time runs out, stop it and fail with
    the tail of its output (when it was piped)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    pipe = proc.stdout or proc.stderr
    output = pipe.read().decode(errors="replace")[-3000:] if pipe else "(output not captured)"
    raise AssertionError(f"{url} did not come up (exit code {proc.wait(10)}):\n{output}")


def batch_command(source: str | Path, out: Path, *extra: str) -> list[str]:
    """`spri batch SOURCE -o OUT` with ids from the `id` field, on the `openai:fake` model, quietly."""
    cli = [sys.executable, "-m", "spri.cli", "batch", str(source), "-o", str(out), "--id-field", "id"]
    return [*cli, "--model", "openai:fake", "-q", *extra]
