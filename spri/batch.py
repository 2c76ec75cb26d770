"""`spri batch`: SPRI over a whole dataset, concurrently, resumable, kill-safe.

Each input row becomes one SPRI run. Finished items are appended to the output JSONL one complete line
at a time (see :class:`spri.jsonl.AppendLog`); failures go to ``OUT.errors.jsonl`` with the id and a
reason. Re-running the same command skips ids already in the output, so a killed batch loses at most
the items that were in flight. ``--retry-failed`` runs only the ids in the errors file.
"""

from __future__ import annotations

import asyncio
import csv
import gc
import hashlib
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TextIO

from spri.api import Result, arun, make_context
from spri.errors import explain
from spri.jsonl import AppendLog, BadLine, iter_jsonl
from spri.state import Input, InputError, SpriError, load_profile

Format = Literal["full", "messages", "alpaca"]

FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "query": ("query", "prompt", "instruction", "question", "input", "post", "text", "Reddit Post"),
    "goal": ("goal", "response_goal"),
    "reference": ("reference", "reference_answer"),
    "response_to_judge": ("response_to_judge", "response"),
    "principles": ("principles",),
    "category": ("category",),
}
"""Input columns recognised for a field when no --field mapping names one, first match wins."""


# ----------------------------------------------------------------------------- reading inputs


def read_rows(source: str, *, split: str = "train") -> Iterator[tuple[int, dict[str, Any] | BadLine]]:
    """(row number, row) from a JSONL, CSV or Parquet file, or a Hugging Face dataset name. A missing
    file or unsupported type is an error at once, before anything is read or written."""
    path = Path(source).expanduser()
    suffix = path.suffix.lower()
    if path.is_file():
        if suffix in (".jsonl", ".json", ".ndjson"):
            return iter_jsonl(path)
        if suffix in (".csv", ".tsv"):
            return _csv_rows(path, "\t" if suffix == ".tsv" else ",")
        if suffix == ".parquet":
            return _parquet_rows(path)
        raise SpriError(f"{path}: unsupported input type '{suffix}' (use .jsonl, .csv or .parquet)")
    if suffix or path.exists() or source.startswith((".", "/", "~")) or source.count("/") > 1:
        raise SpriError(f"input file not found: {path}")
    return _hub_rows(source, split)  # a name such as "tatsu-lab/alpaca": a Hugging Face dataset


def _csv_rows(path: Path, delimiter: str) -> Iterator[tuple[int, dict[str, Any] | BadLine]]:
    try:
        handle = path.open(newline="", encoding="utf-8")
        with handle:
            reader = csv.DictReader(handle, delimiter=delimiter)
            for row in reader:
                yield reader.line_num, dict(row)
    except UnicodeDecodeError as exc:
        raise SpriError(f"{path} is not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except csv.Error as exc:
        raise SpriError(f"{path}: malformed CSV ({exc})") from exc


def _parquet_rows(path: Path) -> Iterator[tuple[int, dict[str, Any] | BadLine]]:
    try:
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise SpriError("reading Parquet needs pyarrow: pip install 'spri[batch]'") from exc
    try:
        table = pq.read_table(path)
    except Exception as exc:
        raise SpriError(f"{path}: cannot read Parquet ({exc})") from exc
    yield from enumerate(table.to_pylist(), 1)


def _hub_rows(name: str, split: str) -> Iterator[tuple[int, dict[str, Any] | BadLine]]:
    try:
        import datasets
    except ImportError as exc:
        raise SpriError(f"'{name}' is not a file; to read a Hugging Face dataset: pip install datasets") from exc
    try:
        dataset = datasets.load_dataset(name, split=split)
    except Exception as exc:
        raise SpriError(f"cannot load dataset '{name}' (split {split}): {exc}") from exc
    for number, row in enumerate(dataset, 1):
        yield number, dict(row)


# ----------------------------------------------------------------------------- mapping rows to inputs


def stable_id(inputs: Mapping[str, Any]) -> str:
    """An id derived from the input fields: the same row gets the same id on every run and machine."""
    canonical = json.dumps({k: v for k, v in sorted(inputs.items()) if v not in (None, "", {})}, sort_keys=True)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def in_shard(item_id: str, shard: tuple[int, int] | None) -> bool:
    """Deterministic hash partition of ids: shard (i, n) holds the ids whose hash is i modulo n."""
    if shard is None:
        return True
    index, count = shard
    return int(hashlib.sha256(item_id.encode("utf-8")).hexdigest(), 16) % count == index


def parse_shard(text: str | None) -> tuple[int, int] | None:
    if not text:
        return None
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError as exc:
        raise SpriError(f"--shard expects I/N (e.g. 0/4), got {text!r}") from exc
    if count < 1 or not 0 <= index < count:
        raise SpriError(f"--shard {text}: need 0 <= I < N")
    return index, count


@dataclass
class FieldMap:
    """Which input column feeds which SPRI field, resolved against the first row's columns."""

    columns: dict[str, str]
    id_field: str | None

    @classmethod
    def resolve(
        cls, explicit: Mapping[str, str], first_row: Mapping[str, Any], profile: str, id_field: str | None
    ) -> FieldMap:
        names = [f.name for f in load_profile(profile).fields]
        wanted = list(dict.fromkeys([*names, *explicit, "category", "principles"]))
        columns: dict[str, str] = {}
        for name in wanted:
            if name in explicit:
                if explicit[name] not in first_row:
                    raise InputError(
                        f"--field {name}={explicit[name]}: no column '{explicit[name]}' in the input "
                        f"(columns: {', '.join(map(str, first_row))})"
                    )
                columns[name] = explicit[name]
                continue
            for alias in FIELD_ALIASES.get(name, (name,)):
                if alias in first_row:
                    columns[name] = alias
                    break
        if "query" not in columns:
            raise InputError(
                f"no input column for 'query' (columns: {', '.join(map(str, first_row))}); use --field query=COLUMN"
            )
        if id_field and id_field not in first_row:
            raise InputError(f"--id-field {id_field}: no such column (columns: {', '.join(map(str, first_row))})")
        return cls(columns=columns, id_field=id_field)

    def inputs(self, row: Mapping[str, Any]) -> dict[str, Any]:
        named = set(Input.model_fields) - {"extra"}
        values: dict[str, Any] = {"extra": {}}
        for field_name, column in self.columns.items():
            value = row.get(column)
            if value is None or value == "":
                continue
            if field_name in named:
                values[field_name] = value
            else:
                values["extra"][field_name] = str(value)
        return values

    def item_id(self, row: Mapping[str, Any], inputs: Mapping[str, Any]) -> str:
        if self.id_field:
            value = row.get(self.id_field)
            if value not in (None, ""):
                return str(value)
        return stable_id(inputs)


# ----------------------------------------------------------------------------- output records


def output_record(item_id: str, inputs: Mapping[str, Any], result: Result, fmt: Format) -> dict[str, Any]:
    if fmt == "messages":
        return {
            "id": item_id,
            "messages": [
                {"role": "user", "content": str(inputs.get("query", ""))},
                {"role": "assistant", "content": result.response or ""},
            ],
        }
    if fmt == "alpaca":
        return {
            "id": item_id,
            "instruction": str(inputs.get("query", "")),
            "input": str(inputs.get("goal") or ""),
            "output": result.response or "",
        }
    full = result.model_dump(mode="json", exclude={"thread_id"})
    return {"id": item_id, "input": {k: v for k, v in inputs.items() if v not in (None, {}, "")}, **full}


# ----------------------------------------------------------------------------- stats and progress


@dataclass
class Stats:
    total: int = 0
    skipped: int = 0
    done: int = 0
    failed: int = 0
    calls: int = 0
    tokens: int = 0
    accepted: Counter[str] = field(default_factory=Counter)
    judged: Counter[str] = field(default_factory=Counter)
    rounds: Counter[str] = field(default_factory=Counter)
    started: float = field(default_factory=time.monotonic)

    def add(self, result: Result) -> None:
        self.done += 1
        self.calls += result.calls
        self.tokens += result.tokens.get("total", 0)
        for stage, reason in result.stop_reason.items():
            if result.rounds.get(stage):
                self.judged[stage] += 1
                self.rounds[stage] += result.rounds[stage]
                self.accepted[stage] += reason == "accepted"

    def summary(self) -> dict[str, Any]:
        elapsed = time.monotonic() - self.started
        return {
            "total": self.total,
            "skipped_already_done": self.skipped,
            "done": self.done,
            "failed": self.failed,
            "elapsed_s": round(elapsed, 2),
            "items_per_s": round(self.done / elapsed, 3) if elapsed > 0 else None,
            "calls": self.calls,
            "tokens": self.tokens,
            "acceptance_rate": {s: round(self.accepted[s] / n, 3) for s, n in self.judged.items()},
            "mean_rounds": {s: round(self.rounds[s] / n, 2) for s, n in self.judged.items()},
        }


class Progress:
    """One self-updating stderr line: done/total, rate, ETA and running stats (at most 4 updates/s)."""

    def __init__(self, stats: Stats, stream: TextIO | None = None, enabled: bool = True) -> None:
        self.stats, self.stream, self.enabled = stats, stream or sys.stderr, enabled
        self._last = 0.0
        self._tty = self.stream.isatty()
        self._every = 0.25 if self._tty else 5.0  # a log file gets a line every few seconds

    def update(self, force: bool = False) -> None:
        now = time.monotonic()
        if not self.enabled or (not force and now - self._last < self._every):
            return
        self._last = now
        s = self.stats
        todo = s.total - s.skipped
        finished = s.done + s.failed
        elapsed = now - s.started
        rate = finished / elapsed if elapsed > 0 else 0.0
        eta = (todo - finished) / rate if rate > 0 else float("nan")
        width = 24
        filled = int(width * finished / todo) if todo else width
        summary = s.summary()
        accept = " ".join(f"{k[:4]} {v:.0%}" for k, v in summary["acceptance_rate"].items())
        rounds = " ".join(f"{k[:4]} {v:.1f}" for k, v in summary["mean_rounds"].items())
        line = (
            f"[{'#' * filled}{'.' * (width - filled)}] {finished}/{todo} {rate:.2f} it/s "
            f"ETA {_duration(eta)} | failed {s.failed} | accepted {accept or '-'} | rounds {rounds or '-'} "
            f"| calls {s.calls} tokens {s.tokens}"
        )
        if self._tty:
            self.stream.write("\r\x1b[2K" + line)
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.update(force=True)
            if self._tty:
                self.stream.write("\n")


def _duration(seconds: float) -> str:
    if seconds != seconds or seconds == float("inf"):  # NaN or unknown
        return "?"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


# ----------------------------------------------------------------------------- the batch


def errors_path(out: Path) -> Path:
    return out.with_name(out.name.removesuffix(".jsonl") + ".errors.jsonl")


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
    **options: Any,
) -> dict[str, Any]:
    """Run SPRI over every selected row; return the summary. ``options`` are Context fields
    (model, critic_model, profile, method, min_score, ...), the model possibly an endpoint pool."""
    if concurrency < 1:
        raise SpriError(f"concurrency must be at least 1 (got {concurrency})")
    if limit is not None and limit < 0:
        raise SpriError(f"limit must not be negative (got {limit})")
    ctx = make_context(**options)
    rows = read_rows(source, split=split)
    out = Path(out)
    stats = Stats()
    bar = Progress(stats, enabled=progress)
    with AppendLog(out) as output, AppendLog(errors_path(out)) as errors:
        finished = {str(r.get("id")) for r in output.records}
        failed_before = {str(r.get("id")) for r in errors.records} - finished
        work = _select(
            rows,
            fields or {},
            id_field,
            ctx.profile,
            shard,
            limit,
            errors,
            finished,
            failed_before if retry_failed else None,
            stats,
        )
        semaphore = asyncio.Semaphore(concurrency)
        failures_in_a_row = 0

        async def one(item_id: str, inputs: dict[str, Any]) -> None:
            nonlocal failures_in_a_row
            async with semaphore:
                try:
                    result = await arun(inputs, context=ctx)
                except Exception as exc:
                    message, _ = explain(exc)
                    errors.append({"id": item_id, "error": message, "type": type(exc).__name__})
                    stats.failed += 1
                    failures_in_a_row += 1
                    if not isinstance(exc, InputError) and failures_in_a_row >= abort_after:
                        raise BatchAborted(failures_in_a_row, message) from exc
                else:
                    output.append(output_record(item_id, inputs, result, fmt))
                    stats.add(result)
                    failures_in_a_row = 0
            if on_item:
                on_item(item_id)
            bar.update()

        try:
            with _quiet_gc():
                await _gather_bounded(work, one, concurrency)
        finally:
            bar.close()
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


class BatchAborted(SpriError):
    def __init__(self, count: int, last: str) -> None:
        super().__init__(
            f"{count} items in a row failed (last: {last}); stopped. Finished items are kept: fix the "
            "problem and run the same command again"
        )


async def _gather_bounded(
    work: Iterator[tuple[str, dict[str, Any]]], one: Callable[[str, dict[str, Any]], Any], concurrency: int
) -> None:
    """Run ``one`` over the work, keeping at most about 2 x concurrency tasks alive (inputs are read
    lazily, so a million-row file is never held in memory as tasks)."""
    pending: set[asyncio.Task[Any]] = set()
    try:
        for item_id, inputs in work:
            pending.add(asyncio.ensure_future(one(item_id, inputs)))
            if len(pending) >= 2 * concurrency:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    task.result()
        while pending:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()
    finally:
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)


def _select(
    rows: Iterator[tuple[int, dict[str, Any] | BadLine]],
    fields: Mapping[str, str],
    id_field: str | None,
    profile: str,
    shard: tuple[int, int] | None,
    limit: int | None,
    errors: AppendLog,
    finished: set[str],
    only: set[str] | None,
    stats: Stats,
) -> Iterator[tuple[str, dict[str, Any]]]:
    """The (id, inputs) still to run, in input order; unreadable rows are recorded as errors."""
    mapping: FieldMap | None = None
    seen: set[str] = set()
    selected = 0
    for number, row in rows:
        if limit is not None and selected >= limit:
            break
        if isinstance(row, BadLine):
            item_id = f"line-{number}"
            if in_shard(item_id, shard) and item_id not in finished:
                errors.append({"id": item_id, "line": number, "error": row.reason, "type": "BadLine"})
                stats.failed += 1
                stats.total += 1
                selected += 1
            continue
        if mapping is None:
            mapping = FieldMap.resolve(fields, row, profile, id_field)
        inputs = mapping.inputs(row)
        item_id = mapping.item_id(row, inputs)
        if not in_shard(item_id, shard) or item_id in seen:
            continue
        seen.add(item_id)
        selected += 1
        stats.total += 1
        if item_id in finished or (only is not None and item_id not in only):
            stats.skipped += 1
            continue
        yield item_id, inputs


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
