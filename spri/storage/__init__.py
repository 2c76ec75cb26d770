"""Checkpointers: SQLite (default, a file in the user's data directory), PostgreSQL, or in memory."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
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
    SQLite path or a postgresql:// URL. Tables are created on first use. A database that cannot be
    opened, or fails while in use (locked, corrupt, unreachable), is a :class:`StorageError` naming it."""
    if db is None or isinstance(db, BaseCheckpointSaver):
        yield db
        return
    if db == "memory":
        yield InMemorySaver(serde=checkpoint_serde())
        return
    db = str(db)
    opener = _postgres if is_postgres(db) else _sqlite
    async with opener(db) as saver:
        try:
            yield saver
        except Exception as exc:
            if _is_database_error(exc):
                raise StorageError(f"checkpoint database {_redact(db)} failed: {_first_line(exc)}") from exc
            raise


def _is_database_error(exc: BaseException) -> bool:
    """sqlite3 and psycopg errors (a model or input error passing through is not one)."""
    return isinstance(exc, sqlite3.Error) or type(exc).__module__.startswith("psycopg")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


@asynccontextmanager
async def _postgres(db: str) -> AsyncIterator[BaseCheckpointSaver]:
    try:
        from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
    except ImportError as exc:
        raise StorageError("PostgreSQL checkpoints need: pip install 'spri[postgres]'") from exc
    stack = AsyncExitStack()
    try:
        saver = await stack.enter_async_context(AsyncPostgresSaver.from_conn_string(db, serde=checkpoint_serde()))
        await saver.setup()
    except Exception as exc:
        await stack.aclose()
        if isinstance(exc, OSError) or _is_database_error(exc):
            raise StorageError(f"cannot open PostgreSQL database {_redact(db)}: {_first_line(exc)}") from exc
        raise
    async with stack:
        yield saver


@asynccontextmanager
async def _sqlite(db: str) -> AsyncIterator[BaseCheckpointSaver]:
    import aiosqlite
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    path = Path(db).expanduser()
    _check_sqlite_file(path)
    try:
        conn = await aiosqlite.connect(str(path))
    except sqlite3.Error as exc:
        raise StorageError(f"cannot open checkpoint database {path}: {exc}") from exc
    try:
        sqlite = AsyncSqliteSaver(conn, serde=checkpoint_serde())
        try:
            await sqlite.setup()  # also switches the file to WAL mode
            # In WAL mode, NORMAL keeps every committed checkpoint through a crash or kill of the process
            # (only an OS crash or power cut may lose the last few), without an fsync per step.
            await conn.execute("PRAGMA synchronous=NORMAL")
        except Exception as exc:
            raise StorageError(f"cannot open checkpoint database {path}: {_first_line(exc)}") from exc
        yield sqlite
    finally:
        await conn.close()


def _check_sqlite_file(path: Path) -> None:
    """Open the file once, synchronously, so a path that cannot be a database (a folder, an unwritable
    place, not a SQLite file, locked) is named before the async connection's worker thread starts."""
    if path.is_dir():
        raise StorageError(f"checkpoint database {path} is a folder; give a file path (e.g. {path}/runs.sqlite)")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        reason = (exc.strerror or str(exc)).lower()
        raise StorageError(f"cannot create the folder for checkpoint database {path}: {reason}") from exc
    try:
        conn = sqlite3.connect(str(path), timeout=5)
    except sqlite3.Error as exc:
        raise StorageError(f"cannot open checkpoint database {path}: {_why(path, exc)}") from exc
    try:
        conn.execute("PRAGMA schema_version").fetchall()  # reads the header: not a database, locked
        if not os.access(path, os.W_OK) and path.exists():
            raise StorageError(f"cannot open checkpoint database {path}: the file is read-only")
    except sqlite3.Error as exc:
        raise StorageError(f"cannot open checkpoint database {path}: {_why(path, exc)}") from exc
    finally:
        conn.close()


def _why(path: Path, exc: sqlite3.Error) -> str:
    """sqlite's reason, with the likely cause when it only says it could not open the file."""
    text = str(exc)
    if "unable to open" in text and not os.access(path.parent, os.W_OK | os.X_OK):
        return f"{text} (the folder {path.parent} is not writable)"
    if "unable to open" in text:
        return f"{text} (check the folder {path.parent} can be written)"
    return text


def _redact(url: str) -> str:
    """A connection URL without its password, for messages."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    return f"{scheme}://{creds.split(':', 1)[0]}:***@{host}"
