"""`spri export`: a batch's ``full`` output (a file or a part folder) as training data, in any format of
:mod:`spri.batch.formats` that export offers (``messages``, ``alpaca``, ``dpo``, ...).

Every row keeps ``id``, ``prompt_id`` (a stable hash of the prompt), the final ``score`` and the response
stage's ``stop_reason``, so a dataset can be filtered again later. Records repeating an id are read once.
A line that is no full record (not JSON, a torn last line, a field of the wrong type: something other
than spri wrote or changed it) is left out and listed with its file and line, never exported as content
and never the end of the export.
"""

from __future__ import annotations

import hashlib
import json
import os
import typing
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spri.api import Output, SpriError
from spri.batch import settings
from spri.batch.formats import STAGE, OutputFormat, format_named, prompt_of, score_of
from spri.batch.layout import Layout
from spri.jsonl import BadLine, iter_jsonl

STOP_REASONS: tuple[str, ...] = typing.get_args(typing.get_args(Output.model_fields["stop_reason"].annotation)[1])
UNREADABLE = "unreadable_record"


@dataclass
class Filters:
    min_score: int | None = None
    stop_reason: str | None = None


@dataclass
class Export:
    """The rows of an export, how many records were left out and why, and the records that could not
    be read (one entry each: file, line, reason)."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    read: int = 0
    left_out: Counter[str] = field(default_factory=Counter)
    meta: dict[str, Any] | None = None
    unreadable: list[dict[str, Any]] = field(default_factory=list)

    def counts(self) -> dict[str, Any]:
        return {"read": self.read, "exported": len(self.rows), "left_out": dict(sorted(self.left_out.items()))}


Line = tuple[Path, int, dict[str, Any] | BadLine]


def batch_records(out: str | Path) -> tuple[Iterator[Line], dict[str, Any] | None]:
    """(file, line number, record or bad line) of a batch output (a JSONL file or a part folder), and
    its settings file, if any."""
    path = Path(out).expanduser()
    if not path.exists():
        raise SpriError(f"no batch output at {path}")
    layout = Layout.of(path)
    meta = settings.read_meta(layout.meta)
    written = (meta or {}).get("content", {}).get("format", "full")
    if written != "full":
        raise SpriError(f"{path} was written with --format {written}; export reads --format full batch output")
    files = layout.record_files()
    if not files:
        raise SpriError(f"{path} holds no batch records (part-*.jsonl)" if layout.parts else f"{path} is empty")
    return ((file, number, record) for file in files for number, record in iter_jsonl(file)), meta


def record_problem(record: Mapping[str, Any]) -> str | None:
    """Why ``record`` is not a ``--format full`` batch record that can be exported, or None."""
    if not isinstance(record.get("id"), str | int) or isinstance(record.get("id"), bool):
        return "no id"
    if not isinstance(record.get("input"), dict) or not isinstance(record["input"].get("query", ""), str):
        return "'input' is not an object with a text 'query'"
    if not isinstance(record.get("response"), str):
        return "'response' is not text" if "response" in record else "no 'response' (not --format full output)"
    for key, item_type in (("drafts", str), ("critiques", dict)):
        per_stage = record.get(key)
        if not isinstance(per_stage, dict) or not isinstance(per_stage.get(STAGE, []), list):
            return f"'{key}' is not an object of lists per stage"
        if not all(isinstance(item, item_type) for item in per_stage.get(STAGE, [])):
            return f"'{key}.{STAGE}' holds an item of the wrong type"
    if not isinstance(record.get("stop_reason", {}), dict):
        return "'stop_reason' is not an object"
    return None


def export_extras(record: Mapping[str, Any]) -> dict[str, Any]:
    """The columns every export row has besides the format's own."""
    return {
        "id": record.get("id"),
        "prompt_id": prompt_id(prompt_of(record)),
        "score": score_of(record, -1),
        "stop_reason": (record.get("stop_reason") or {}).get(STAGE),
    }


def prompt_id(prompt: str) -> str:
    return hashlib.sha256(prompt.encode("utf-8")).hexdigest()[:16]


def convert(record: Mapping[str, Any], fmt: OutputFormat) -> dict[str, Any] | None:
    """One export row, or None when the record makes no row of this format (a DPO pair without gain)."""
    row = fmt.row(record)
    return None if row is None else {**row, **export_extras(record)}


def export(out: str | Path, fmt_name: str, filters: Filters) -> Export:
    """The rows of ``out`` in the format ``fmt_name`` that pass the filters; each id once (the first
    readable record)."""
    fmt = format_named(fmt_name, "export")
    if filters.stop_reason is not None and filters.stop_reason not in STOP_REASONS:
        raise SpriError(f"--stop-reason {filters.stop_reason}: use one of {', '.join(STOP_REASONS)}")
    lines, meta = batch_records(out)
    result = Export(meta=meta)
    seen: set[str] = set()
    for path, number, record in lines:
        result.read += 1
        problem = record.reason if isinstance(record, BadLine) else record_problem(record)
        if problem is not None or isinstance(record, BadLine):
            result.left_out[UNREADABLE] += 1
            result.unreadable.append({"file": str(path), "line": number, "error": problem})
            continue
        reason = _left_out(record, filters, seen)
        row = convert(record, fmt) if reason is None else None
        if reason is None and row is None:
            reason = fmt.left_out
        if reason is not None:
            result.left_out[reason] += 1
            continue
        assert row is not None
        result.rows.append(row)
    return result


def _left_out(record: dict[str, Any], filters: Filters, seen: set[str]) -> str | None:
    key = str(record.get("id"))
    if key in seen:
        return "repeated_id"
    seen.add(key)
    if filters.min_score is not None and (score_of(record, -1) or 0) < filters.min_score:
        return "below_min_score"
    if filters.stop_reason is not None and (record.get("stop_reason") or {}).get(STAGE) != filters.stop_reason:
        return "other_stop_reason"
    return None


def write_rows(rows: list[dict[str, Any]], path: str | Path) -> None:
    """The rows as JSONL, replacing ``path`` atomically."""
    target = Path(path).expanduser()
    temporary = target.with_name(target.name + ".tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with temporary.open("w", encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise SpriError(f"cannot write {target}: {(exc.strerror or str(exc)).lower()}") from exc
