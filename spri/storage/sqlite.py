"""SQLite checkpoints: a file in WAL mode, checked synchronously before it is used, written by one thread
of its own that commits the writes arriving together in one transaction (:class:`SqliteCheckpoints`)."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, suppress
from datetime import datetime
from pathlib import Path
from typing import Any

from langgraph.checkpoint.base import (
    WRITES_IDX_MAP,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    get_checkpoint_metadata,
)
from langgraph.checkpoint.sqlite import SqliteSaver

from spri.storage.errors import StorageError, first_line
from spri.storage.retention import older, uuid6_at
from spri.storage.serde import checkpoint_serde

Statement = Callable[[sqlite3.Cursor], None]
BUSY_TIMEOUT = 5.0
"""Seconds a write waits for another process that holds the database's write lock."""

_PUT = (
    "INSERT OR REPLACE INTO checkpoints (thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, type, "
    "checkpoint, metadata) VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_WRITE = (
    "INSERT OR {} INTO writes (thread_id, checkpoint_ns, checkpoint_id, task_id, task_path, idx, channel, type, "
    "value) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_IDLE = (
    "SELECT c.thread_id, c.type, c.checkpoint FROM checkpoints c JOIN (SELECT thread_id, MAX(checkpoint_id) AS latest "
    "FROM checkpoints WHERE checkpoint_ns = '' GROUP BY thread_id HAVING latest < ?) l "
    "ON c.thread_id = l.thread_id AND c.checkpoint_ns = '' AND c.checkpoint_id = l.latest"
)
_LATEST = "SELECT checkpoint_ns, MAX(checkpoint_id) FROM checkpoints WHERE thread_id = ? GROUP BY checkpoint_ns"


class SqliteCheckpoints(SqliteSaver):
    """LangGraph's ``SqliteSaver`` (its tables, reads and channel versions, so databases written by
    either are read by both) whose async methods run on a thread of its own instead of the event loop.

    Writes are committed in groups: the writes that arrive while one group commits form the next group,
    committed in one transaction by one hand-off to the thread. Each ``await`` returns only once its own
    write is committed, so ``durability="sync"`` keeps its meaning (a kill loses at most the step in
    flight); with many runs in flight, a few hundred writes cost one commit instead of one each."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        super().__init__(conn, serde=checkpoint_serde())
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="spri-sqlite")
        self._queue: list[tuple[Statement, asyncio.Future[None]]] = []
        self._queue_lock = threading.Lock()
        self._committing = False

    # --- the write queue ----------------------------------------------------------------------------

    async def _write(self, statement: Statement) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        with self._queue_lock:
            self._queue.append((statement, future))
            start, self._committing = not self._committing, True
        if start:
            self._thread.submit(self._commit_queued)
        await future

    def _commit_queued(self) -> None:
        """On the thread: commit what is queued in one transaction, settle each waiter on its own loop,
        then queue the next group (reads waiting for the thread go in between)."""
        with self._queue_lock:
            group, self._queue = self._queue, []
        error = self._commit(group)
        by_loop: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = {}
        for _, future in group:
            by_loop.setdefault(future.get_loop(), []).append(future)
        for loop, futures in by_loop.items():
            with suppress(RuntimeError):  # a closed loop: nobody waits there any more
                loop.call_soon_threadsafe(_settle, futures, error)
        with self._queue_lock:
            if self._queue:
                self._thread.submit(self._commit_queued)
            else:
                self._committing = False

    def _commit(self, group: list[tuple[Statement, asyncio.Future[None]]]) -> BaseException | None:
        with self.lock:
            cursor = self.conn.cursor()
            try:
                for statement, _ in group:
                    statement(cursor)
                self.conn.commit()
            except Exception as exc:
                self.conn.rollback()
                return exc
            finally:
                cursor.close()
        return None

    async def _read(self, read: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._thread, read, *args)

    def close(self) -> None:
        """Wait for queued writes, then stop the thread (the connection is its opener's to close)."""
        self._thread.shutdown(wait=True)

    # --- LangGraph's async saver interface ------------------------------------------------------------

    async def aget_tuple(self, config: Any) -> CheckpointTuple | None:
        found: CheckpointTuple | None = await self._read(self.get_tuple, config)
        return found

    async def alist(
        self,
        config: Any,
        *,
        filter: dict[str, Any] | None = None,
        before: Any = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        found = await self._read(lambda: list(self.list(config, filter=filter, before=before, limit=limit)))
        for item in found:
            yield item

    async def aget_delta_channel_history(self, *, config: Any, channels: Sequence[str]) -> Any:
        return await self._read(lambda: self.get_delta_channel_history(config=config, channels=channels))

    async def aput(
        self, config: Any, checkpoint: Checkpoint, metadata: CheckpointMetadata, new_versions: ChannelVersions
    ) -> Any:
        configurable = config["configurable"]
        thread_id, namespace = str(configurable["thread_id"]), configurable["checkpoint_ns"]
        kind, data = self.serde.dumps_typed(checkpoint)  # now: the caller may change the checkpoint later
        meta = get_checkpoint_metadata(config, metadata)
        row = (thread_id, namespace, checkpoint["id"], configurable.get("checkpoint_id"), kind, data, _json(meta))

        def put(cursor: sqlite3.Cursor) -> None:
            cursor.execute(_PUT, row)

        await self._write(put)
        return {"configurable": {"thread_id": thread_id, "checkpoint_ns": namespace, "checkpoint_id": checkpoint["id"]}}

    async def aput_writes(
        self, config: Any, writes: Sequence[tuple[str, Any]], task_id: str, task_path: str = ""
    ) -> None:
        configurable = config["configurable"]
        key = (str(configurable["thread_id"]), str(configurable["checkpoint_ns"]), str(configurable["checkpoint_id"]))
        rows = [
            (*key, task_id, task_path, WRITES_IDX_MAP.get(channel, index), channel, *self.serde.dumps_typed(value))
            for index, (channel, value) in enumerate(writes)
        ]
        # special channels (errors, interrupts, resumes) replace their earlier value; others keep the first
        sql = _WRITE.format("REPLACE" if all(channel in WRITES_IDX_MAP for channel, _ in writes) else "IGNORE")

        def put_writes(cursor: sqlite3.Cursor) -> None:
            cursor.executemany(sql, rows)

        await self._write(put_writes)

    async def adelete_thread(self, thread_id: str) -> None:
        await self._write(lambda cursor: _delete(cursor, str(thread_id)))

    async def aprune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        """``keep_latest``: every thread keeps only its latest checkpoint per namespace and that
        checkpoint's pending writes (what resuming a paused or stopped run needs); ``delete``: the
        threads are removed. One transaction, so a kill leaves a thread either pruned or as it was."""
        if isinstance(thread_ids, str):
            raise TypeError("thread_ids must be a sequence of thread ids, not a str")
        if strategy not in ("keep_latest", "delete"):
            raise ValueError(f"unknown prune strategy {strategy!r}")
        prune = _delete if strategy == "delete" else _keep_latest
        ids = [str(thread_id) for thread_id in thread_ids]

        def statement(cursor: sqlite3.Cursor) -> None:
            for thread_id in ids:
                prune(cursor, thread_id)

        if ids:
            await self._write(statement)

    async def aidle_threads(self, cutoff: datetime) -> list[str]:
        """Threads whose latest checkpoint was written before ``cutoff``: the candidates come from the
        checkpoint ids alone (UUIDv6, ordered by time), and each candidate's own time confirms it."""
        bound = uuid6_at(cutoff)

        def read() -> list[tuple[str, Any]]:
            with self.cursor(transaction=False) as cursor:
                rows = cursor.execute(_IDLE, (bound,)).fetchall()
            return [(thread, self.serde.loads_typed((kind, blob))) for thread, kind, blob in rows]

        return older(await self._read(read), cutoff)


def _settle(futures: list[asyncio.Future[None]], error: BaseException | None) -> None:
    for future in futures:
        if future.done():  # its waiter was cancelled; the write was made anyway
            continue
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(error)


def _json(metadata: Any) -> bytes:
    return json.dumps(metadata, ensure_ascii=False).encode("utf-8", "ignore")


def _delete(cursor: sqlite3.Cursor, thread_id: str) -> None:
    cursor.execute("DELETE FROM checkpoints WHERE thread_id = ?", (thread_id,))
    cursor.execute("DELETE FROM writes WHERE thread_id = ?", (thread_id,))


def _keep_latest(cursor: sqlite3.Cursor, thread_id: str) -> None:
    for namespace, latest in cursor.execute(_LATEST, (thread_id,)).fetchall():
        where = "WHERE thread_id = ? AND checkpoint_ns = ? AND checkpoint_id <> ?"
        cursor.execute(f"DELETE FROM checkpoints {where}", (thread_id, namespace, latest))
        cursor.execute(f"DELETE FROM writes {where}", (thread_id, namespace, latest))


@asynccontextmanager
async def open_sqlite(path: Path) -> AsyncIterator[SqliteCheckpoints]:
    _check_sqlite_file(path)
    try:
        conn = sqlite3.connect(str(path), check_same_thread=False, timeout=BUSY_TIMEOUT)
    except sqlite3.Error as exc:
        raise StorageError(f"cannot open checkpoint database {path}: {exc}") from exc
    try:
        saver = SqliteCheckpoints(conn)
        try:
            saver.setup()  # also switches the file to WAL mode
            # In WAL mode, NORMAL keeps every committed checkpoint through a crash or kill of the process
            # (only an OS crash or power cut may lose the last few), without an fsync per commit.
            conn.execute("PRAGMA synchronous=NORMAL")
        except Exception as exc:
            raise StorageError(f"cannot open checkpoint database {path}: {first_line(exc)}") from exc
        try:
            yield saver
        finally:
            await asyncio.get_running_loop().run_in_executor(None, saver.close)
    finally:
        conn.close()


def _check_sqlite_file(path: Path) -> None:
    """Open the file once, synchronously, so a path that cannot be a database (a folder, an unwritable
    place, not a SQLite file, locked) is named before it is used."""
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
