"""Running the server: checks before start-up, uvicorn with the connection guards, one process or
several workers sharing the checkpoint database, graceful shutdown on SIGTERM."""

from __future__ import annotations

import asyncio
import glob
import os
import shutil
import signal
import sys
import tempfile
from dataclasses import dataclass
from typing import Any

from spri.api import make_context, open_checkpointer
from spri.server.logs import log_config
from spri.server.settings import ServerSettings, SettingsError

APP_FACTORY = "spri.server.app:app_from_env"
WORKER_HEALTHCHECK_SECONDS = 30
"""With --workers N, how long the supervisor waits for a worker to answer its health check before it
kills and replaces it (uvicorn's default, 5 s, kills workers still importing on a busy machine, over
and over, so the server never comes up)."""


@dataclass(frozen=True)
class RunOptions:
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    graceful_timeout: float = 30.0
    """Seconds in-flight requests get to finish after SIGTERM; runs still going are cut (and resumable)."""
    read_timeout: float = 10.0
    max_connections: int = 512
    max_head_bytes: int = 32 * 1024


def preflight(settings: ServerSettings) -> None:
    """Fail before binding the port, with one line, on models or a database that cannot work."""
    make_context()

    async def open_once() -> None:
        async with open_checkpointer(settings.db):
            pass

    asyncio.run(open_once())


def metrics_dir(workers: int) -> str | None:
    """A directory for prometheus-client's per-process files (several workers, or one the operator
    chose), emptied now. Returns the directory to remove at exit (None if the operator chose it)."""
    chosen = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if chosen == "":
        del os.environ["PROMETHEUS_MULTIPROC_DIR"]  # set but empty would switch prometheus-client to "" as the dir
    if chosen:
        os.makedirs(chosen, exist_ok=True)
        for stale in glob.glob(os.path.join(chosen, "*.db")):
            os.remove(stale)
        return None
    if workers == 1:
        return None
    made = tempfile.mkdtemp(prefix="spri-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = made
    return made


def serve(options: RunOptions) -> None:
    """Serve until SIGTERM/SIGINT; then stop accepting, let requests finish (up to the graceful timeout),
    close the database and exit with status 0."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from spri.server.protocol import GuardConfig

    if options.workers < 1:
        raise SettingsError(f"--workers must be at least 1 (got {options.workers})")
    settings = ServerSettings.from_env()
    preflight(settings)
    made = metrics_dir(options.workers)
    config = GuardConfig(
        APP_FACTORY,
        factory=True,
        host=options.host,
        port=options.port,
        workers=options.workers,
        timeout_graceful_shutdown=options.graceful_timeout,
        log_config=log_config(settings.log_format),
        access_log=False,
        read_timeout=options.read_timeout,
        max_connections=options.max_connections,
        max_head_bytes=options.max_head_bytes,
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
    )
    # uvicorn re-raises SIGTERM once it has shut down gracefully; exit 0 then instead of dying by the signal.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    try:
        if options.workers > 1:
            Multiprocess(config, sockets=[config.bind_socket()]).run()
        else:
            server = uvicorn.Server(config)
            try:
                server.run()
            except SystemExit:
                if server.started:
                    raise
            if not server.started:
                raise SettingsError(
                    f"cannot serve on {options.host}:{options.port} (see the log above; is the port in use?)"
                )
    finally:
        if made:
            shutil.rmtree(made, ignore_errors=True)


def _exit_cleanly(signum: int, frame: Any) -> None:
    sys.exit(0)
