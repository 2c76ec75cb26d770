"""Running a batch: every selected item is one SPRI run, at most ``concurrency`` in flight, each
finished item appended to the output as one complete line and each failure to the errors file."""

from __future__ import annotations

import asyncio
import gc
import json
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spri.api import Context, InputError, SpriError, arun, endpoint_pool, explain, make_context
from spri.batch.progress import Progress, Stats
from spri.batch.records import Format, output_record
from spri.batch.selection import Done, Selection, Unreadable, Work
from spri.batch.sources import read_rows
from spri.jsonl import AppendLog


def errors_path(out: Path) -> Path:
    return out.with_name(out.name.removesuffix(".jsonl") + ".errors.jsonl")


class BatchAborted(SpriError):
    def __init__(self, count: int, last: str) -> None:
        super().__init__(
            f"{count} items in a row failed (last: {last}); stopped. Finished items are kept: fix the "
            "problem and run the same command again"
        )


@dataclass
class Runner:
    """One batch in progress: the shared context, the two output files and the running stats."""

    ctx: Context
    fmt: Format
    output: AppendLog
    errors: AppendLog
    stats: Stats
    bar: Progress
    abort_after: int
    on_item: Callable[[str], None] | None = None
    failures_in_a_row: int = field(default=0)

    async def one(self, work: Work) -> None:
        try:
            result = await arun(work.inputs, context=self.ctx)
        except Exception as exc:
            message, _ = explain(exc)
            self.errors.append({"id": work.item_id, "error": message, "type": type(exc).__name__})
            self.stats.failed += 1
            self.failures_in_a_row += 1
            if not isinstance(exc, InputError) and self.failures_in_a_row >= self.abort_after:
                raise BatchAborted(self.failures_in_a_row, message) from exc
        else:
            self.output.append(output_record(work.item_id, work.inputs, result, self.fmt))
            self.stats.add(result)
            self.failures_in_a_row = 0
        if self.on_item:
            self.on_item(work.item_id)
        self.bar.update()

    def account(self, selected: Iterator[Work | Done | Unreadable]) -> Iterator[Work]:
        """Count every selected item; record unreadable rows; pass on the work."""
        for item in selected:
            self.stats.total += 1
            if isinstance(item, Unreadable):
                self.errors.append({"id": item.item_id, "line": item.line, "error": item.reason, "type": "BadLine"})
                self.stats.failed += 1
            elif isinstance(item, Done):
                self.stats.skipped += 1
            else:
                yield item


def batch_context(options: dict[str, Any], base_urls: list[str] | None, max_in_flight: int | None) -> Context:
    """The Context every item shares; with several ``base_urls`` an openai:NAME model (and critic) is
    an endpoint pool over them."""
    if base_urls:
        model = options.get("model")
        if not (isinstance(model, str) and model.startswith("openai:")):
            raise SpriError("--base-url needs an openai:NAME model (--model openai:NAME)")
        for key in ("model", "critic_model"):
            spec = options.get(key)
            if isinstance(spec, str) and spec.startswith("openai:"):
                options[key] = endpoint_pool(spec, base_urls, max_in_flight=max_in_flight)
    return make_context(**options)


async def run_batch(
    source: str,
    out: str | Path,
    *,
    fields: Mapping[str, str] | None = None,
    id_field: str | None = None,
    fmt: Format = "full",
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
    **options: Any,
) -> dict[str, Any]:
    """Run SPRI over every selected row; return the summary. ``options`` are Context fields
    (model, critic_model, profile, method, min_score, ...)."""
    if concurrency < 1:
        raise SpriError(f"concurrency must be at least 1 (got {concurrency})")
    if limit is not None and limit < 0:
        raise SpriError(f"limit must not be negative (got {limit})")
    ctx = batch_context(options, base_urls, max_in_flight)
    rows = read_rows(source, split=split)
    out = Path(out)
    stats = Stats()
    with AppendLog(out) as output, AppendLog(errors_path(out)) as errors:
        finished = {str(r.get("id")) for r in output.records}
        failed_before = {str(r.get("id")) for r in errors.records} - finished
        only = failed_before if retry_failed else None
        selection = Selection(fields or {}, id_field, ctx.profile, shard, limit, finished, only)
        runner = Runner(ctx, fmt, output, errors, stats, Progress(stats, enabled=progress), abort_after, on_item)
        try:
            with _quiet_gc():
                await gather_bounded(runner.account(selection.select(rows)), runner.one, concurrency)
        finally:
            runner.bar.close()
            _compact_errors(errors, {str(r.get("id")) for r in output.records})
    summary = stats.summary()
    summary.update({"output": str(out), "errors": str(errors_path(out)) if errors_path(out).exists() else None})
    return summary


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


def _compact_errors(errors: AppendLog, finished: set[str]) -> None:
    """Keep one entry (the latest) per id that still failed, so every id ends up exactly once in the
    output or the errors file. The file is replaced atomically."""
    latest: dict[str, dict[str, Any]] = {}
    for record in errors.records:
        if str(record.get("id")) not in finished:
            latest[str(record.get("id"))] = record
    if len(latest) == len(errors.records):
        return
    if not latest:  # every failure has since succeeded
        errors.path.unlink(missing_ok=True)
        return
    temporary = errors.path.with_suffix(".tmp")
    with temporary.open("w", encoding="utf-8") as handle:
        for record in latest.values():
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, errors.path)
