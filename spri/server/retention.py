"""The server's retention policy (``--thread-ttl``): threads idle for longer than the TTL are deleted by
a sweep that runs in each worker while the server is up; a thread a run is using is skipped (its lease),
so it is swept once it has been idle long enough."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from datetime import timedelta
from typing import Any

from spri.api import prune_threads

LOGGER = logging.getLogger("spri.server")
LONGEST_SWEEP_INTERVAL = 600.0
"""Seconds between sweeps at most: a thread outlives its TTL by at most this (or a tenth of the TTL)."""


def sweep_interval(ttl: timedelta) -> float:
    return max(1.0, min(LONGEST_SWEEP_INTERVAL, ttl.total_seconds() / 10))


async def sweep(saver: Any, ttl: timedelta) -> None:
    """One sweep; a failure (the database is down) is logged, and the next sweep tries again."""
    try:
        pruned = await prune_threads(ttl, saver)
    except Exception as exc:
        LOGGER.warning("thread sweep failed: %s", type(exc).__name__)
        return
    if pruned.deleted:
        LOGGER.info("deleted %d thread(s) idle for more than %s", len(pruned.deleted), ttl)


@asynccontextmanager
async def sweeping(saver: Any, ttl: timedelta | None) -> AsyncIterator[None]:
    """Sweep ``saver`` every :func:`sweep_interval` while the context is open (nothing if ``ttl`` is None)."""
    if ttl is None:
        yield
        return

    async def loop() -> None:
        while True:
            await sweep(saver, ttl)
            await asyncio.sleep(sweep_interval(ttl))

    task = asyncio.create_task(loop(), name="spri-thread-sweep")
    try:
        yield
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task
