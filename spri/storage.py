"""Checkpointers: SQLite (default, a file in the user's data directory), PostgreSQL, or in memory."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from spri.state.errors import SpriError

# The only classes of ours that reach a checkpoint. Savers opened here deserialize these and LangGraph's own
# safe types, nothing else: a tampered checkpoint database cannot make us instantiate arbitrary classes
# (and LangGraph's warning about unregistered types does not fire on every resume).
CHECKPOINT_TYPES = (("spri.state.state", "Critique"), ("spri.state.state", "Usage"))


def checkpoint_serde() -> JsonPlusSerializer:
    return JsonPlusSerializer(allowed_msgpack_modules=CHECKPOINT_TYPES)


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
        yield InMemorySaver(serde=checkpoint_serde())
        return
    db = str(db)
    if is_postgres(db):
        try:
            from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
        except ImportError as exc:
            raise StorageError("PostgreSQL checkpoints need: pip install 'spri[postgres]'") from exc
        try:
            async with AsyncPostgresSaver.from_conn_string(db, serde=checkpoint_serde()) as saver:
                await saver.setup()
                yield saver
        except OSError as exc:
            raise StorageError(f"cannot open PostgreSQL database {_redact(db)}: {exc}") from exc
        return
    import aiosqlite
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    path = Path(db).expanduser()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError(f"cannot create the folder for checkpoint database {path}: {exc}") from exc
    async with aiosqlite.connect(str(path)) as conn:
        sqlite = AsyncSqliteSaver(conn, serde=checkpoint_serde())
        try:
            await sqlite.setup()  # also switches the file to WAL mode
            # In WAL mode, NORMAL keeps every committed checkpoint through a crash or kill of the process
            # (only an OS crash or power cut may lose the last few), without an fsync per step.
            await conn.execute("PRAGMA synchronous=NORMAL")
        except Exception as exc:
            raise StorageError(f"cannot open checkpoint database {path}: {exc}") from exc
        yield sqlite


def _redact(url: str) -> str:
    """A connection URL without its password, for messages."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    return f"{scheme}://{creds.split(':', 1)[0]}:***@{host}"
