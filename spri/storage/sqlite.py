"""SQLite checkpoints: a file in WAL mode, checked synchronously before the async connection opens."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from langgraph.checkpoint.base import BaseCheckpointSaver

from spri.storage.errors import StorageError, first_line
from spri.storage.serde import checkpoint_serde


@asynccontextmanager
async def open_sqlite(path: Path) -> AsyncIterator[BaseCheckpointSaver]:
    import aiosqlite
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

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
            raise StorageError(f"cannot open checkpoint database {path}: {first_line(exc)}") from exc
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
