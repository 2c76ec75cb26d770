"""What a checkpoint database keeps, and for how long.

- **Compaction**: once a run ends (finished, or paused for a review), its thread keeps only its latest
  checkpoint and that checkpoint's pending writes, which are all that reading the thread back and
  continuing it need (LangGraph's ``aprune(strategy="keep_latest")``). Runs that stop part-way (a kill,
  a failure) are left whole, so they continue where they stopped. Databases spri opens itself (a path
  or URL) are compacted; a saver object a caller passes in is left as it is unless asked.
- **Deletion** and **pruning** (threads idle for longer than a given time) take the thread's lease
  first (:mod:`spri.storage.leases`), so a thread that is running is never touched: deleting it is
  refused (:class:`ThreadBusy`), pruning skips it.
"""

from __future__ import annotations

import logging
import re
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver

from spri.storage.errors import StorageError, ThreadBusy
from spri.storage.leases import thread_lease

LOGGER = logging.getLogger("spri.storage")
_OWNED: weakref.WeakSet[Any] = weakref.WeakSet()

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
DURATION_FORMS = "a number with a unit: s, m, h, d or w (e.g. 90m, 12h, 30d)"


def parse_duration(text: str, what: str = "duration") -> timedelta:
    """``"30d"``, ``"12h"``, ``"90m"``, ``"45s"``, ``"2w"`` (a bare number is seconds) -> timedelta."""
    found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*", str(text).lower())
    if not found or float(found[1]) <= 0:
        raise StorageError(f"{what} must be {DURATION_FORMS}, more than zero; got {text!r}")
    return timedelta(seconds=float(found[1]) * UNITS[found[2] or "s"])


def own(saver: Any) -> None:
    """Mark ``saver`` as one spri opened from a path or URL: its finished threads are compacted."""
    _OWNED.add(saver)


def can_prune(saver: Any) -> bool:
    """Whether the saver implements LangGraph's ``aprune`` (SQLite and PostgreSQL savers spri opens)."""
    return saver is not None and type(saver).aprune is not BaseCheckpointSaver.aprune


def compacts(saver: Any, asked: bool | None) -> bool:
    """Whether runs on ``saver`` compact their thread when they end (``asked`` None: if spri opened it)."""
    wanted = saver in _OWNED if asked is None else asked
    return wanted and can_prune(saver)


async def compact(saver: Any, thread_id: str) -> None:
    """Keep only the thread's latest checkpoint and its pending writes. A failure is logged, not
    raised: the run's result stands, and the thread is compacted by its next run or pruned later."""
    try:
        await saver.aprune([thread_id], strategy="keep_latest")
    except Exception as exc:  # the database went away between the last step and now
        LOGGER.warning("thread %s not compacted: %s", thread_id, type(exc).__name__)


async def exists(saver: Any, thread_id: str) -> bool:
    return await saver.aget_tuple({"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}) is not None


async def delete(saver: Any, thread_id: str) -> bool:
    """Delete the thread (every checkpoint and write of it); False if there is none. A running thread
    is refused with :class:`ThreadBusy`."""
    async with thread_lease(saver, thread_id):
        if not await exists(saver, thread_id):
            return False
        await saver.adelete_thread(thread_id)
    return True


@dataclass
class Pruned:
    """What :func:`prune` did: the threads deleted, and those it left because a run held them."""

    deleted: list[str] = field(default_factory=list)
    busy: list[str] = field(default_factory=list)


async def prune(saver: Any, older_than: timedelta, *, now: datetime | None = None) -> Pruned:
    """Delete every thread whose latest checkpoint is older than ``older_than`` (running ones skipped)."""
    cutoff = (now or datetime.now(UTC)) - older_than
    pruned = Pruned()
    for thread_id in await idle_threads(saver, cutoff):
        try:
            async with thread_lease(saver, thread_id):
                await saver.adelete_thread(thread_id)
            pruned.deleted.append(thread_id)
        except ThreadBusy:
            pruned.busy.append(thread_id)
    return pruned


async def idle_threads(saver: Any, cutoff: datetime) -> list[str]:
    """Threads whose latest checkpoint (root namespace) was written before ``cutoff``. Savers that can
    say so themselves (``aidle_threads``) are asked; others are read through ``alist``."""
    own_query = getattr(saver, "aidle_threads", None)
    if own_query is not None:
        found: list[str] = await own_query(cutoff)
        return found
    latest: dict[str, datetime] = {}
    async for item in saver.alist(None):
        if item.config["configurable"].get("checkpoint_ns", ""):
            continue
        thread_id = str(item.config["configurable"]["thread_id"])
        written = checkpoint_time(item.checkpoint)
        if thread_id not in latest or written > latest[thread_id]:
            latest[thread_id] = written
    return sorted(thread for thread, written in latest.items() if written < cutoff)


def checkpoint_time(checkpoint: Any) -> datetime:
    """When a checkpoint was written (its ``ts``), as an aware datetime."""
    written = datetime.fromisoformat(str(checkpoint["ts"]))
    return written if written.tzinfo else written.replace(tzinfo=UTC)


GREGORIAN = datetime(1582, 10, 15, tzinfo=UTC)


def uuid6_at(moment: datetime) -> str:
    """The smallest UUIDv6 (RFC 9562) of ``moment``: LangGraph's checkpoint ids are UUIDv6, whose text
    sorts by the time they were made, so ids below this one were made before ``moment``."""
    ticks = int((moment - GREGORIAN).total_seconds() * 10_000_000)  # 100 ns since the Gregorian epoch
    high, mid, low = ticks >> 28 & 0xFFFFFFFF, ticks >> 12 & 0xFFFF, ticks & 0x0FFF
    return f"{high:08x}-{mid:04x}-6{low:03x}-0000-000000000000"


def older(times: Iterable[tuple[str, Any]], cutoff: datetime) -> list[str]:
    """The threads of ``(thread_id, checkpoint)`` pairs whose checkpoint was written before ``cutoff``."""
    return sorted(thread for thread, checkpoint in times if checkpoint_time(checkpoint) < cutoff)
