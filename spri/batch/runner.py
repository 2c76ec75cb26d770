"""Running a batch: every selected item is one SPRI run on an engine (in this process, or on Ray
workers), at most the engine's slots in flight; this process alone writes, each finished item to the
output as one complete line and each failure to the errors file."""

from __future__ import annotations

import asyncio
import gc
import os
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import chain, islice
from typing import Any, Literal

from spri.api import Context, SpriError
from spri.batch import settings
from spri.batch.engine import Failure, LocalEngine, Outcome, shared_context, with_pools
from spri.batch.formats import format_named, output_record
from spri.batch.layout import Layout
from spri.batch.progress import Progress, Stats, count_ahead
from spri.batch.selection import Done, Selection, Unreadable, Work, resolve_mapping
from spri.batch.sources import open_source
from spri.batch.store import Store


class BatchAborted(SpriError):
    def __init__(self, count: int, last: str) -> None:
        super().__init__(
            f"{count} items in a row failed (last: {last}); stopped. Finished items are kept: fix the "
            "problem and run the same command again"
        )


@dataclass
class Runner:
    """One batch in progress: the engine, the store written to, and the running stats."""

    engine: Any
    fmt: str
    store: Store
    stats: Stats
    bar: Progress
    abort_after: int
    on_item: Callable[[str], None] | None = None
    failures_in_a_row: int = field(default=0)

    async def one(self, work: Work) -> None:
        outcome: Outcome = await self.engine.run(work)
        if isinstance(outcome, Failure):
            self.store.fail({"id": work.item_id, "error": outcome.message, "type": outcome.kind})
            self.stats.failed += 1
            self.failures_in_a_row += 1
            if outcome.systemic and self.failures_in_a_row >= self.abort_after:
                raise BatchAborted(self.failures_in_a_row, outcome.message)
        else:
            self.store.add(work.item_id, output_record(work.item_id, work.inputs, outcome, self.fmt))
            self.stats.add(outcome)
            self.failures_in_a_row = 0
        if self.on_item:
            self.on_item(work.item_id)
        self.bar.update()

    def account(self, selected: Iterator[Work | Done | Unreadable]) -> Iterator[Work]:
        """Count every selected item; record unreadable rows; pass on the work."""
        for item in selected:
            self.stats.total += 1
            if isinstance(item, Unreadable):
                self.store.fail(item.record())
                self.stats.failed += 1
            elif isinstance(item, Done):
                self.stats.skipped += 1
            else:
                yield item


@dataclass
class Plan:
    """What a batch will do, settled before the first model call."""

    source: str
    split: str
    layout: Layout
    fmt: str
    fields: Mapping[str, str]
    id_field: str | None
    shard: tuple[int, int] | None
    limit: int | None
    retry_failed: bool
    execution: dict[str, Any]


def check_numbers(concurrency: int, limit: int | None, workers: int | None = None) -> None:
    if workers is not None and workers < 1:
        raise SpriError(f"workers must be at least 1 (got {workers})")
    if concurrency < 1:
        raise SpriError(f"concurrency must be at least 1 (got {concurrency})")
    if limit is not None and limit < 0:
        raise SpriError(f"limit must not be negative (got {limit})")


async def execute(plan: Plan, ctx: Context, engine: Any, stats: Stats, progress: bool, **hooks: Any) -> dict[str, Any]:
    """Open the store (every check before a model call), select, run on the engine, close; the summary."""
    rows_of = open_source(plan.source, split=plan.split)
    id_column = settings.takes_id_column(plan.layout)
    mapping, rows = resolve_mapping(rows_of(), plan.fields, plan.id_field, ctx.profile, id_column)
    columns = mapping.columns if mapping else dict(plan.fields)
    id_field = mapping.id_field if mapping else plan.id_field
    content = settings.content_settings(ctx, plan.fmt, columns, id_field)
    run_info = {"input": plan.source, "layout": "parts" if plan.layout.parts else "file", "execution": plan.execution}
    stats.extra.update(output=str(plan.layout.out), engine=plan.execution["engine"])
    store = Store(plan.layout, plan.source, content, run_info).open()
    try:
        only = store.failed_before if plan.retry_failed else None
        selection = Selection(mapping, plan.shard, plan.limit, set(store.finished), only)
        stats.extra["duplicates_removed"] = store.duplicates_removed
        runner = Runner(engine, plan.fmt, store, stats, Progress(stats, enabled=progress), **hooks)
        counting = count_ahead(rows_of, selection, stats)
        try:
            await run_on(engine, runner.account(selection.select(rows)), runner, stats)
        finally:
            counting.stop()
            stats.extra.update(engine.facts())
            runner.bar.close()
    finally:
        store.close()
        stats.extra["errors"] = str(plan.layout.errors) if plan.layout.errors.exists() else None
    return stats.summary()


async def run_batch(
    source: str,
    out: str,
    *,
    fields: Mapping[str, str] | None = None,
    id_field: str | None = None,
    fmt: str = "full",
    concurrency: int = 8,
    limit: int | None = None,
    shard: tuple[int, int] | None = None,
    retry_failed: bool = False,
    split: str = "train",
    progress: bool = True,
    abort_after: int = 20,
    on_item: Callable[[str], None] | None = None,
    base_urls: list[str] | None = None,
    max_in_flight: int | None = None,
    stats: Stats | None = None,
    engine: Literal["local", "ray"] = "local",
    workers: int | None = None,
    ray_address: str | None = None,
    **options: Any,
) -> dict[str, Any]:
    """Run SPRI over every selected row; return the summary. ``options`` are Context fields (model,
    critic_model, profile, method, min_score, ...). ``engine`` "local" runs ``concurrency`` items at once in
    this process; "ray" runs them on ``workers`` Ray actors with ``concurrency`` each, on a private local
    Ray or the cluster at ``ray_address`` (or $RAY_ADDRESS). ``stats`` (optional) is filled as the batch
    goes, so a caller can report on a batch that was interrupted."""
    check_numbers(concurrency, limit, workers)
    format_named(fmt, "batch")
    ctx = shared_context(options)
    execution: dict[str, Any] = {"engine": engine, "concurrency": concurrency, "base_urls": base_urls or []}
    execution.update(max_in_flight=max_in_flight, speculate=ctx.speculate)
    runner_engine: Any
    if engine == "ray":
        from spri.batch.ray_engine import RayEngine, worker_spec

        address = ray_address or os.environ.get("RAY_ADDRESS") or None
        execution.update(workers=workers, ray_address=address)
        spec = worker_spec(ctx, base_urls, max_in_flight)
        runner_engine = RayEngine(spec, workers, concurrency, address, progress=progress)
    elif engine == "local":
        runner_engine = LocalEngine(with_pools(ctx, base_urls, max_in_flight), concurrency)
    else:
        raise SpriError(f"unknown engine {engine!r} (use local or ray)")
    layout = Layout.choose(out, engine)
    plan = Plan(source, split, layout, fmt, fields or {}, id_field, shard, limit, retry_failed, execution)
    hooks = {"abort_after": abort_after, "on_item": on_item}
    return await execute(plan, ctx, runner_engine, stats or Stats(), progress, **hooks)


LOOK_AHEAD = 1024
"""Items taken before the engine starts, to know whether a run is smaller than that."""


async def run_on(engine: Any, work: Iterator[Work], runner: Runner, stats: Stats) -> None:
    """Run the work on the engine, started only if there is work (a finished job's rerun starts no Ray),
    told how many items there are when they are few (a Ray then starts no more workers than items)."""
    first = list(islice(work, LOOK_AHEAD))
    stats.extra.update(workers=engine.workers, engine_start_s=0.0)
    if not first:
        return
    if len(first) < LOOK_AHEAD:
        engine.items = len(first)
    started = time.monotonic()
    async with engine:
        stats.extra.update(workers=engine.workers, engine_start_s=round(time.monotonic() - started, 2))
        with _quiet_gc():
            await gather_bounded(chain(first, work), runner.one, engine.slots)


@contextmanager
def _quiet_gc() -> Iterator[None]:
    """Fewer, cheaper garbage collections during a long batch: the objects alive at the start (modules,
    models, compiled graph) are frozen out of collection and young-generation passes run less often,
    which keeps collection pauses from stalling hundreds of in-flight requests."""
    thresholds = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(max(thresholds[0], 50_000), thresholds[1], thresholds[2])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


async def gather_bounded(work: Iterator[Work], one: Callable[[Work], Any], concurrency: int) -> None:
    """Run ``one`` over the work with ``concurrency`` in flight, keeping at most about 2 x concurrency
    tasks alive (inputs are read lazily, so a million-row file is never held in memory as tasks)."""
    semaphore = asyncio.Semaphore(concurrency)

    async def limited(item: Work) -> None:
        async with semaphore:
            await one(item)

    pending: set[asyncio.Task[Any]] = set()
    try:
        for item in work:
            pending.add(asyncio.ensure_future(limited(item)))
            if len(pending) >= 2 * concurrency:
                pending = await _reap(pending)
        while pending:
            pending = await _reap(pending)
    finally:
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)


async def _reap(pending: set[asyncio.Task[Any]]) -> set[asyncio.Task[Any]]:
    """Wait for at least one task; raise the first failure among those done."""
    done, still = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
    for task in done:
        task.result()
    return still
