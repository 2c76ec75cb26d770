"""Checkpointers: SQLite (default, a file in the user's data directory), PostgreSQL, or in memory; and the
lease that lets one run at a time use a thread (:func:`thread_lease`)."""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver

from spri.models.redaction import redact, redact_url
from spri.storage.errors import (
    DatabaseUnavailable,
    StorageError,
    ThreadBusy,
    first_line,
    is_database_error,
)
from spri.storage.leases import AdvisoryLeases, FileLeases, attach, thread_lease
from spri.storage.retention import Pruned, compact, compacts, delete, own, parse_duration, prune
from spri.storage.serde import CHECKPOINT_TYPES, checkpoint_serde
from spri.storage.sqlite import open_sqlite

__all__ = [
    "CHECKPOINT_TYPES",
    "DatabaseUnavailable",
    "Pruned",
    "StorageError",
    "ThreadBusy",
    "check_location",
    "checkpoint_serde",
    "compact",
    "compacts",
    "default_db",
    "delete",
    "is_database_error",
    "is_postgres",
    "open_checkpointer",
    "parse_duration",
    "prune",
    "thread_lease",
]

ACCEPTED = "a SQLite file path (e.g. runs.sqlite), a postgresql:// URL, or memory"
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://")


def default_db() -> str:
    """$SPRI_DB, else ``checkpoints.sqlite`` in the user's data directory."""
    if os.environ.get("SPRI_DB"):
        return os.environ["SPRI_DB"]
    from platformdirs import user_data_dir

    return str(Path(user_data_dir("spri", appauthor=False)) / "checkpoints.sqlite")


def is_postgres(db: str) -> bool:
    return db.startswith(("postgres://", "postgresql://"))


def check_location(db: str) -> None:
    """Refuse a URL of a database spri cannot use (``mysql://x`` is not a file name to create)."""
    found = _SCHEME.match(db)
    if found and not is_postgres(db):
        raise StorageError(
            f"checkpoint database {redact_url(db)}: unsupported URL scheme '{found[1]}'; give {ACCEPTED}"
        )


@asynccontextmanager
async def open_checkpointer(db: Any) -> AsyncIterator[BaseCheckpointSaver | None]:
    """A checkpointer for ``db``: a saver object (used as is), None (no persistence), "memory", a
    SQLite path or a postgresql:// URL. Tables are created on first use. A database that cannot be
    opened, or fails while in use (locked, corrupt, unreachable), is a :class:`StorageError` naming it."""
    if db is None or isinstance(db, BaseCheckpointSaver):
        yield db
        return
    if db == "memory":
        yield InMemorySaver(serde=checkpoint_serde())
        return
    db = str(db)
    check_location(db)
    async with _open(db) as saver:
        try:
            yield saver
        except Exception as exc:
            if is_database_error(exc):
                raise StorageError(f"checkpoint database {redact_url(db)} failed: {redact(first_line(exc))}") from exc
            raise


@asynccontextmanager
async def _open(db: str) -> AsyncIterator[BaseCheckpointSaver]:
    if not is_postgres(db):
        path = Path(db).expanduser()
        async with open_sqlite(path) as saver:
            try:
                leases = FileLeases.for_database(path)
            except OSError as exc:
                raise StorageError(f"cannot open the lock file beside checkpoint database {path}: {exc}") from exc
            attach(saver, leases)
            own(saver)
            yield saver
        return
    try:
        from spri.storage.postgres import connection_options, open_postgres
    except ImportError as exc:
        raise StorageError("PostgreSQL checkpoints need: pip install 'spri[postgres]'") from exc
    async with open_postgres(db) as postgres:
        advisory = AdvisoryLeases(db, connection_options(postgres.wait), postgres.unavailable)
        attach(postgres, advisory)
        own(postgres)
        try:
            yield postgres
        finally:
            await advisory.close()
