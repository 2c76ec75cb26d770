"""PostgreSQL checkpoints that outlive a restart of the database.

Connections come from a psycopg pool that checks each one before handing it out
(``AsyncConnectionPool.check_connection``) and replaces the dead ones, so a connection the database
closed while restarting is never used for a checkpoint. An operation that loses its connection half-way
is tried once more on a fresh one (checkpoint writes are upserts, so a repeat is harmless). While the
database is down, an operation waits up to ``SPRI_DB_WAIT`` seconds (default 5) for a connection, then
fails with :class:`DatabaseUnavailable` naming the database (never its password); finished steps stay
stored, and the run continues once the database is back. A pool that failed to reconnect gives up
after a short while, so the next request starts a fresh attempt: recovery is noticed within seconds.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, TypeVar

from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from psycopg import AsyncConnection, OperationalError
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from spri.models.redaction import redact, redact_url
from spri.storage.errors import DatabaseUnavailable, StorageError, first_line, is_database_error
from spri.storage.serde import checkpoint_serde

DEFAULT_WAIT = 5.0
POOL_SIZE = 3
RECONNECT_SECONDS = 2.0
"""How long the pool keeps retrying one lost connection before it lets the next request start anew."""

T = TypeVar("T")
_IDLE = (
    "SELECT thread_id FROM checkpoints WHERE checkpoint_ns = '' GROUP BY thread_id "
    "HAVING max((checkpoint->>'ts')::timestamptz) < %s ORDER BY thread_id"
)

# The pool reports lost connections as warnings; spri reports what they mean (DatabaseUnavailable).
# A server that wants them configures this logger (spri serve does, redacted).
logging.getLogger("psycopg.pool").addHandler(logging.NullHandler())


def db_wait() -> float:
    """Seconds an operation waits for the database (SPRI_DB_WAIT, default 5)."""
    raw = os.environ.get("SPRI_DB_WAIT") or ""
    try:
        value = float(raw) if raw else DEFAULT_WAIT
    except ValueError:
        raise StorageError(f"SPRI_DB_WAIT must be a number of seconds, got {raw!r}") from None
    if not 0 < value < 3600:
        raise StorageError(f"SPRI_DB_WAIT must be between 0 and 3600 seconds, got {raw!r}")
    return value


def connection_options(wait: float) -> dict[str, Any]:
    """What LangGraph's PostgreSQL saver expects of its connections, and a bounded connect."""
    return {
        "autocommit": True,
        "prepare_threshold": 0,
        "row_factory": dict_row,
        "connect_timeout": max(2, round(wait)),
    }


@asynccontextmanager
async def open_postgres(db: str) -> AsyncIterator[ResilientPostgresSaver]:
    wait = db_wait()
    options = connection_options(wait)
    try:  # one direct connection first: its error says why (refused, no such database, password)
        async with await AsyncConnection.connect(db, **options) as conn:
            await AsyncPostgresSaver(conn, serde=checkpoint_serde()).setup()
    except Exception as exc:
        if isinstance(exc, OSError) or is_database_error(exc):
            raise StorageError(f"cannot open PostgreSQL database {redact_url(db)}: {redact(first_line(exc))}") from exc
        raise
    pool: Any = AsyncConnectionPool(
        db,
        open=False,
        min_size=1,
        max_size=POOL_SIZE,
        kwargs=options,
        check=AsyncConnectionPool.check_connection,
        timeout=wait,
        reconnect_timeout=RECONNECT_SECONDS,
        name="spri-checkpoints",
    )
    await pool.open(wait=False)
    try:
        yield ResilientPostgresSaver(pool, label=redact_url(db), wait=wait)
    finally:
        await pool.close()


class ResilientPostgresSaver(AsyncPostgresSaver):
    """LangGraph's ``AsyncPostgresSaver`` whose operations survive a lost connection (see the module)."""

    def __init__(self, pool: Any, *, label: str, wait: float) -> None:
        super().__init__(pool, serde=checkpoint_serde())
        self.pool = pool
        self.label = label  # the database as it may be named (no password)
        self.wait = wait  # how long an operation waits for a connection

    async def _again(self, operation: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        for attempt in (1, 2):
            try:
                return await operation(*args, **kwargs)
            except PoolTimeout as exc:
                raise self.unavailable(exc) from exc
            except OperationalError as exc:
                if attempt == 2:
                    raise self.unavailable(exc) from exc
        raise AssertionError("not reached")

    def unavailable(self, exc: BaseException) -> DatabaseUnavailable:
        why = (
            f"no connection within {self.wait:g} s (SPRI_DB_WAIT)" if isinstance(exc, PoolTimeout) else first_line(exc)
        )
        return DatabaseUnavailable(f"checkpoint database {self.label} is unavailable: {redact(why)}")

    async def aget_tuple(self, config: Any) -> Any:
        return await self._again(super().aget_tuple, config)

    async def aput(self, config: Any, checkpoint: Any, metadata: Any, new_versions: Any) -> Any:
        return await self._again(super().aput, config, checkpoint, metadata, new_versions)

    async def aput_writes(self, config: Any, writes: Any, task_id: str, task_path: str = "") -> None:
        await self._again(super().aput_writes, config, writes, task_id, task_path)

    async def adelete_thread(self, thread_id: str) -> None:
        await self._again(super().adelete_thread, thread_id)

    async def aprune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        await self._again(super().aprune, thread_ids, strategy=strategy)

    async def aidle_threads(self, cutoff: datetime) -> list[str]:
        """Threads whose latest checkpoint (root namespace) was written before ``cutoff``."""

        async def query() -> list[str]:
            async with self.pool.connection() as conn:
                cursor = await conn.execute(_IDLE, (cutoff,))
                return [row["thread_id"] for row in await cursor.fetchall()]

        return await self._again(query)

    async def aget_delta_channel_history(self, *, config: Any, channels: Any) -> Any:
        parent = super().aget_delta_channel_history
        return await self._again(lambda: parent(config=config, channels=channels))

    async def alist(self, config: Any, **kwargs: Any) -> AsyncIterator[Any]:
        for attempt in (1, 2):
            given = False
            try:
                async for item in super().alist(config, **kwargs):
                    given = True
                    yield item
                return
            except OperationalError as exc:
                if given or attempt == 2 or isinstance(exc, PoolTimeout):
                    raise self.unavailable(exc) from exc
