"""`spri serve` as a child process for tests and benchmarks: its log goes to a file (a pipe nobody reads
would fill up and stall the server), so tests can read the log lines while it runs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.openai_server import free_port
from tests.support.processes import cli_env


@dataclass
class SpriServer:
    proc: subprocess.Popen
    url: str
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for_log(self, fragment: str, timeout: float = 60) -> str:
        """The log once it contains ``fragment`` (log lines are written after the response is sent)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.log()
            if fragment in text:
                return text
            time.sleep(0.05)
        raise AssertionError(f"{fragment!r} not in the server log:\n{self.log()[-3000:]}")

    def stop(self, timeout: float = 60) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
            raise


def server_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a test server: the fake model, no client retries, a database under ``home``."""
    defaults = {
        "SPRI_MODEL": "openai:fake",
        "OPENAI_API_KEY": "server-secret-key-0123",
        "SPRI_MAX_RETRIES": "0",
        "SPRI_SERVE_DB": str(home / "server.sqlite"),
    }
    return cli_env(home, **{**defaults, **extra})


def start(home: Path, env: dict[str, str], *args: str, timeout: float = 120) -> SpriServer:
    """Start `spri serve` on a free port and wait until /health answers."""
    port = free_port()
    log_path = home / f"serve-{port}.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "spri.cli", "serve", "--port", str(port), *args],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = SpriServer(proc, f"http://127.0.0.1:{port}", log_path)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(server.url + "/health", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    raise AssertionError(f"spri serve did not come up (exit code {proc.wait(10)}):\n{server.log()[-3000:]}")


def metric_samples(
    url: str, headers: dict[str, str] | None = None
) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a /metrics scrape of the server at ``url``, keyed by (name, sorted labels)."""
    from prometheus_client.parser import text_string_to_metric_families

    response = httpx.get(url + "/metrics", headers=headers, timeout=30)
    assert response.status_code == 200, response.text
    found = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


@contextmanager
def serving(home: Path, *args: str, **env_extra: str) -> Iterator[SpriServer]:
    """A running `spri serve` (with :func:`server_env` plus ``env_extra``), stopped afterwards."""
    server = start(home, server_env(home, **env_extra), *args)
    try:
        yield server
    finally:
        with suppress(subprocess.TimeoutExpired):
            server.stop()
        with suppress(ProcessLookupError):  # workers left behind by a supervisor that was killed
            os.killpg(server.proc.pid, signal.SIGKILL)
