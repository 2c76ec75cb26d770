"""One run per thread at a time, across processes: a run holds its thread's lease from start to end.

- SQLite: a POSIX record lock on one byte (at an offset derived from the thread id) of a lock file
  beside the database, ``DB.threads.lock``;
- PostgreSQL: a session-level advisory lock (keyed by the thread id) on a connection of its own;
- any other saver (``"memory"``, a saver object you pass in): this process only.

The operating system (SQLite) or the database server (PostgreSQL) drops the locks of a process that ends,
however it ends, so a crashed or SIGKILLed run never blocks its thread: it can be resumed at once.
A second run on a busy thread gets :class:`ThreadBusy` before it reads or writes anything.
"""

from __future__ import annotations

import asyncio
import errno
import hashlib
import os
import threading
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any, ClassVar

from spri.storage.errors import ThreadBusy

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: leases hold within the process only
    fcntl = None  # type: ignore[assignment]


def lock_key(thread_id: str, bits: int) -> int:
    """A stable non-negative number for the thread (an advisory-lock key, a byte offset)."""
    digest = hashlib.sha256(b"spri-thread\0" + thread_id.encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:8], "big") >> (64 - bits)


class Leases:
    """Leases within this process (the base of the others, and what unknown savers get)."""

    def __init__(self) -> None:
        self._held: set[str] = set()
        self._guard = threading.Lock()  # run() may drive loops in several threads

    def _claim(self, thread_id: str) -> None:
        with self._guard:
            if thread_id in self._held:
                raise ThreadBusy(thread_id)
            self._held.add(thread_id)

    def _unclaim(self, thread_id: str) -> None:
        with self._guard:
            self._held.discard(thread_id)

    async def acquire(self, thread_id: str) -> None:
        self._claim(thread_id)

    async def release(self, thread_id: str) -> None:
        self._unclaim(thread_id)

    async def close(self) -> None:
        """Give up whatever is still held (the saver is closing)."""


class FileLeases(Leases):
    """Record locks on ``DB.threads.lock``: one lock file per database and process, never closed while
    the process lives (closing any descriptor of a file drops every POSIX lock the process holds on it)."""

    _registry: ClassVar[dict[str, FileLeases]] = {}
    _registry_guard: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, fd: int) -> None:
        super().__init__()
        self.fd = fd

    @classmethod
    def for_database(cls, path: Path) -> FileLeases:
        """The leases of one SQLite database, shared by every saver of this process that opens it."""
        lock_path = str(path.expanduser().resolve()) + ".threads.lock"
        with cls._registry_guard:
            if lock_path not in cls._registry:
                fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
                cls._registry[lock_path] = cls(fd)
            return cls._registry[lock_path]

    async def acquire(self, thread_id: str) -> None:
        self._claim(thread_id)
        if fcntl is None:
            return
        try:
            fcntl.lockf(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, lock_key(thread_id, 62))
        except OSError as exc:
            self._unclaim(thread_id)
            if exc.errno in (errno.EACCES, errno.EAGAIN):
                raise ThreadBusy(thread_id) from None
            raise

    async def release(self, thread_id: str) -> None:
        try:
            if fcntl is not None:
                fcntl.lockf(self.fd, fcntl.LOCK_UN, 1, lock_key(thread_id, 62))
        finally:
            self._unclaim(thread_id)


class AdvisoryLeases(Leases):
    """PostgreSQL advisory locks, held by one connection of their own (opened at the first run, and
    opened again, taking back the locks held, if the database closed it)."""

    def __init__(self, conninfo: str, options: dict[str, Any], unavailable: Any) -> None:
        super().__init__()
        self.conninfo, self.options, self.unavailable = conninfo, options, unavailable
        self.conn: Any = None
        self._serial: asyncio.Lock | None = None  # one statement (or reconnection) at a time

    async def _connection(self, fresh: bool, taking: str) -> Any:
        """The lock connection; a new one takes back the locks this process held on the old one
        (the database dropped them with its session), except the one being taken now."""
        from psycopg import AsyncConnection

        if fresh or self.conn is None or self.conn.closed:
            if self.conn is not None:
                await self.conn.close()
            self.conn = await AsyncConnection.connect(self.conninfo, **self.options)
            for held in sorted(self._held - {taking}):
                await self._execute("SELECT pg_try_advisory_lock(%s)", held)
        return self.conn

    async def _execute(self, sql: str, thread_id: str) -> bool:
        cursor = await self.conn.execute(sql, (lock_key(thread_id, 63),))
        row = await cursor.fetchone()
        return bool(row and next(iter(row.values()) if isinstance(row, dict) else row[0]))

    async def _locked(self, sql: str, thread_id: str) -> bool:
        from psycopg import OperationalError

        self._serial = self._serial or asyncio.Lock()
        async with self._serial:
            for fresh in (False, True):
                try:
                    await self._connection(fresh, thread_id)
                    return await self._execute(sql, thread_id)
                except OperationalError as exc:
                    if fresh:
                        raise self.unavailable(exc) from exc
        raise AssertionError("not reached")

    async def acquire(self, thread_id: str) -> None:
        self._claim(thread_id)
        try:
            taken = await self._locked("SELECT pg_try_advisory_lock(%s)", thread_id)
        except BaseException:
            self._unclaim(thread_id)
            raise
        if not taken:
            self._unclaim(thread_id)
            raise ThreadBusy(thread_id)

    async def release(self, thread_id: str) -> None:
        """Unlock, even when the run ends by cancellation (a client that went away): the unlock runs
        to its end in a task of its own, or the lock would stay with this process's session."""
        self._unclaim(thread_id)
        unlock = asyncio.ensure_future(self._unlock(thread_id))
        await asyncio.shield(unlock)

    async def _unlock(self, thread_id: str) -> None:
        self._serial = self._serial or asyncio.Lock()
        async with self._serial:
            with suppress(Exception):  # the session is gone, and its locks with it
                await self._execute("SELECT pg_advisory_unlock(%s)", thread_id)

    async def close(self) -> None:
        if self.conn is not None:
            await self.conn.close()


_LEASES: weakref.WeakKeyDictionary[Any, Leases] = weakref.WeakKeyDictionary()


def attach(saver: Any, leases: Leases) -> None:
    """Make ``leases`` the ones of runs on ``saver``."""
    _LEASES[saver] = leases


@asynccontextmanager
async def thread_lease(saver: Any, thread_id: str) -> AsyncIterator[None]:
    """Hold the thread for the duration (nothing without a saver: such a run cannot be continued)."""
    if saver is None:
        yield
        return
    leases = _LEASES.get(saver)
    if leases is None:
        leases = _LEASES.setdefault(saver, Leases())
    await leases.acquire(thread_id)
    try:
        yield
    finally:
        await leases.release(thread_id)
