"""Ray for one batch: a private single-machine Ray that never outlives this process, or an existing
cluster joined by address.

The private Ray is ``ray start --head --block`` in a session of its own, with its own token and temp
folder (nothing is written to ``~/.ray`` or ``/tmp/ray``). Its launcher asks the kernel for SIGTERM when
this process dies (``PR_SET_PDEATHSIG``) and then kills every process of that session, so even a
SIGKILLed driver leaves no raylet, GCS or worker behind for more than a few seconds; on a normal end the
whole session is killed at once. A joined cluster is left running; the job's workers end with the driver.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from spri.api import SpriError
from spri.compat import ray_start_without_autoscaler, refresh_ray_auth

START_TIMEOUT = float(os.environ.get("SPRI_RAY_START_TIMEOUT", "180"))
FORWARDED_PREFIXES = ("OPENAI_", "SPRI_", "LANGSMITH_", "LANGCHAIN_", "HF_")
FORWARDED_SUFFIXES = ("_API_KEY", "_BASE_URL")

# The launcher: arm PR_SET_PDEATHSIG, give up if the parent is already gone, then run `ray start` as its
# child and wait. On SIGTERM (the parent died) it SIGKILLs every other process of its session itself:
# `ray start` may not end on SIGTERM when one of its processes is already gone. Done in a child
# interpreter so no preexec_fn runs in this (threaded) process.
_LAUNCHER = (
    "import ctypes, os, signal, subprocess, sys\n"
    "ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)\n"
    "if os.getppid() != int(sys.argv[1]): sys.exit(1)\n"
    "def end(*_):\n"
    "    for pid in filter(str.isdigit, os.listdir('/proc')):\n"
    "        try:\n"
    "            if int(pid) != os.getpid() and os.getsid(int(pid)) == os.getpid(): os.kill(int(pid), 9)\n"
    "        except OSError: pass\n"
    "    os._exit(1)\n"
    "signal.signal(signal.SIGTERM, end)\n"
    "sys.exit(subprocess.Popen(sys.argv[2:]).wait())\n"
)


_LEAN_HEAD = ("--include-dashboard=false", "--include-log-monitor=false", "--disable-usage-stats")
"""A private head runs no dashboard and no log monitor (workers' logs stay in its temp folder: the
driver does not print them)."""


class RayError(SpriError):
    """Ray could not be started or joined; the message says which and why."""


def forwarded_environment() -> dict[str, str]:
    """The variables a joined cluster's workers need to build the same models as this process."""
    return {
        name: value
        for name, value in os.environ.items()
        if name.startswith(FORWARDED_PREFIXES) or name.endswith(FORWARDED_SUFFIXES)
    }


def _prepare_auth(own_head: bool) -> None:
    """Token authentication settings, which Ray reads when it is imported (refreshed if it already was)."""
    if own_head:
        os.environ["RAY_AUTH_MODE"] = "token"
        os.environ["RAY_AUTH_TOKEN"] = secrets.token_hex(32)
        os.environ.pop("RAY_AUTH_TOKEN_PATH", None)
    elif "RAY_AUTH_MODE" not in os.environ and (
        os.environ.get("RAY_AUTH_TOKEN") or (Path.home() / ".ray" / "auth_token").is_file()
    ):
        os.environ["RAY_AUTH_MODE"] = "token"  # else joining a token-protected cluster hangs, then fails
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    if "ray" in sys.modules:
        refresh_ray_auth()  # Ray caches them at import: refresh (its own tests do the same)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _client_server_port() -> list[str]:
    """A free port for the Ray client server, which a head with Ray's client installed starts (else on
    10001, so two private Rays at once would contend for it)."""
    return [f"--ray-client-server-port={_free_port()}"] if importlib.util.find_spec("grpc") else []


def _ray_command() -> list[str]:
    beside = Path(sys.executable).with_name("ray")
    if beside.is_file():
        return [str(beside)]
    found = shutil.which("ray")
    return [found] if found else [sys.executable, "-m", "ray.scripts.scripts"]


def _temp_root() -> str:
    """Ray's unix sockets live under its temp folder, and their paths may not pass 107 characters."""
    root = tempfile.gettempdir()
    return root if len(root) <= 40 else "/tmp"


OWNER = "owner.pid"


def _sweep_stale(root: str) -> None:
    """Remove the temp folders of private Rays whose spri process is gone (killed before it could)."""
    for folder in Path(root).glob("spri-ray-*"):
        try:
            owner = int((folder / OWNER).read_text())
        except (OSError, ValueError):
            continue
        if not Path(f"/proc/{owner}").exists():
            shutil.rmtree(folder, ignore_errors=True)


class PrivateHead:
    """``ray start --head --block`` as a child that dies with this process."""

    def __init__(self, num_cpus: int) -> None:
        self.num_cpus = num_cpus
        _sweep_stale(_temp_root())
        self.temp_dir = tempfile.mkdtemp(prefix="spri-ray-", dir=_temp_root())
        (Path(self.temp_dir) / OWNER).write_text(str(os.getpid()))
        self.address = f"127.0.0.1:{_free_port()}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = Path(self.temp_dir) / "head.log"

    def launch(self) -> PrivateHead:
        """Start ``ray start`` and return at once (:meth:`wait` waits until it is up): the driver imports
        Ray meanwhile."""
        ray_start = [
            *_ray_command(),
            "start",
            "--head",
            "--block",
            f"--port={self.address.rsplit(':', 1)[1]}",
            "--node-ip-address=127.0.0.1",
            f"--num-cpus={self.num_cpus}",
            *_LEAN_HEAD,
            *ray_start_without_autoscaler(),
            *_client_server_port(),
            f"--temp-dir={self.temp_dir}",
        ]
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", _LAUNCHER, str(os.getpid()), *ray_start],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def wait(self) -> None:
        self._wait_started(self.log_path)

    def _wait_started(self, log_path: Path) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while b"Ray runtime started" not in log_path.read_bytes():
            if self.proc is None or self.proc.poll() is not None or time.monotonic() > deadline:
                tail = log_path.read_bytes()[-600:].decode("utf-8", "replace").strip().splitlines()
                self.stop(keep_log=True)
                why = tail[-1] if tail else "no output"
                raise RayError(f"the local Ray did not start within {START_TIMEOUT:.0f} s ({why}; log: {log_path})")
            time.sleep(0.1)

    def stop(self, keep_log: bool = False) -> None:
        """Kill every process of the private Ray at once. Nothing of it needs a graceful end: the batch's
        results are already durable in its output (each line fsynced), and the Ray holds nothing else."""
        proc, self.proc = self.proc, None
        if proc is not None:
            _kill_session(proc.pid)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(5)
        if not keep_log:
            shutil.rmtree(self.temp_dir, ignore_errors=True)


def _kill_session(session: int) -> None:
    """SIGKILL every process in ``session`` (the private Ray's launcher and all it started: GCS, raylet,
    agents and workers, some in process groups of their own), then its leader's whole group again."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                if os.getsid(int(entry.name)) == session:
                    os.kill(int(entry.name), signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(session, signal.SIGKILL)


class RayCluster:
    """Ray for one batch: ``address`` None starts a private head; otherwise the cluster is joined."""

    def __init__(self, address: str | None) -> None:
        self.address = address
        self.head: PrivateHead | None = None
        self.ray: Any = None

    @property
    def joined(self) -> bool:
        return self.address is not None

    def start(self) -> Any:
        """Start or join Ray; the ``ray`` module, initialised."""
        _prepare_auth(own_head=not self.joined)
        address = self.address
        if address is None:  # launched first: Ray's import below overlaps its start
            self.head = PrivateHead(os.cpu_count() or 1).launch()
            address = self.head.address
        import ray

        self.ray = ray
        if self.head is not None:
            self.head.wait()
        try:
            ray.init(address=address, log_to_driver=False, logging_level=logging.ERROR)
        except Exception as exc:
            logs = f" (its logs: {self.head.temp_dir})" if self.head is not None else ""
            self.stop(keep_logs=True)
            where = f"the Ray cluster at {address}" if self.joined else "the local Ray just started"
            raise RayError(f"cannot connect to {where}: {str(exc).strip().splitlines()[0]}{logs}") from exc
        return ray

    def cpus(self) -> int:
        return max(1, int(self.ray.cluster_resources().get("CPU", 1))) if self.ray else 1

    def stop(self, keep_logs: bool = False) -> None:
        if self.ray is not None and self.ray.is_initialized():
            with contextlib.suppress(Exception):
                self.ray.shutdown()
        if self.head is not None:
            self.head.stop(keep_log=keep_logs)
            self.head = None
