"""Checkpointers: SQLite (default, a file in the user's data directory), PostgreSQL, or in memory."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver

from spri.state.errors import SpriError


class StorageError(SpriError):
    """A checkpoint database that cannot be opened; the message names it."""


def default_db() -> str:
    """$SPRI_DB, else ``checkpoints.sqlite`` in the user's data directory."""
    if os.environ.get("SPRI_DB"):
        return os.environ["SPRI_DB"]
    from platformdirs import user_data_dir

    return str(Path(user_data_dir("spri", appauthor=False)) / "checkpoints.sqlite")


def is_postgres(db: str) -> bool:
    return db.startswith(("postgres://", "postgresql://"))


@asynccontextmanager
async def open_checkpointer(db: Any) -> AsyncIterator[BaseCheckpointSaver | None]:
    """A checkpointer for ``db``: a saver object (used as is), None (no persistence), "memory", a
    SQLite path or a postgresql:// URL. Tables are created on first use."""
    if db is None or isinstance(db, BaseCheckpointSaver):
        yield db
        return
    if db == "memory":
        yield InMemorySaver()
        return
    db = str(db)
    if is_postgres(db):
        try:
            from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
        except ImportError as exc:
            raise StorageError("PostgreSQL checkpoints need: pip install 'spri[postgres]'") from exc
        try:
            async with AsyncPostgresSaver.from_conn_string(db) as saver:
                await saver.setup()
                yield saver
        except OSError as exc:
            raise StorageError(f"cannot open PostgreSQL database {_redact(db)}: {exc}") from exc
        return
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    path = Path(db).expanduser()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError(f"cannot create the folder for checkpoint database {path}: {exc}") from exc
    async with AsyncSqliteSaver.from_conn_string(str(path)) as saver:
        try:
            await saver.setup()  # also switches the file to WAL mode
            # In WAL mode, NORMAL keeps every committed checkpoint through a crash or kill of the process
            # (only an OS crash or power cut may lose the last few), without an fsync per step.
            await saver.conn.execute("PRAGMA synchronous=NORMAL")
        except Exception as exc:
            raise StorageError(f"cannot open checkpoint database {path}: {exc}") from exc
        yield saver


def _redact(url: str) -> str:
    """A connection URL without its password, for messages."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    return f"{scheme}://{creds.split(':', 1)[0]}:***@{host}"
