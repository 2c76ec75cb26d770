"""`spri export`: a batch's ``full`` output (a file or a part folder) as training data.

- ``messages``: TRL's conversational format, ``{"messages": [{"role": "user", ...}, {"role": "assistant", ...}]}``;
- ``alpaca``: ``instruction`` / ``input`` / ``output``;
- ``dpo``: TRL's conversational preference format, ``prompt`` / ``chosen`` (the final response) /
  ``rejected`` (the first draft), only for items whose final response scored higher than their first draft.

Every row keeps ``id``, ``prompt_id`` (a stable hash of the prompt), the final ``score`` and the response
stage's ``stop_reason``, so a dataset can be filtered again later. Records repeating an id are read once.
"""

from __future__ import annotations

import hashlib
import json
import os
import typing
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from spri.api import Output, SpriError
from spri.batch import settings
from spri.batch.store import Layout
from spri.jsonl import written_records

ExportFormat = Literal["messages", "alpaca", "dpo"]
STAGE = "response"
STOP_REASONS: tuple[str, ...] = typing.get_args(typing.get_args(Output.model_fields["stop_reason"].annotation)[1])


@dataclass
class Filters:
    min_score: int | None = None
    stop_reason: str | None = None


@dataclass
class Export:
    """The rows of an export and how many records were left out, and why."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    read: int = 0
    left_out: Counter[str] = field(default_factory=Counter)
    meta: dict[str, Any] | None = None

    def counts(self) -> dict[str, Any]:
        return {"read": self.read, "exported": len(self.rows), "left_out": dict(sorted(self.left_out.items()))}


def batch_records(out: str | Path) -> tuple[Iterator[dict[str, Any]], dict[str, Any] | None]:
    """The records of a batch output (a JSONL file or a part folder) and its settings file, if any."""
    path = Path(out).expanduser()
    if not path.exists():
        raise SpriError(f"no batch output at {path}")
    layout = Layout(path, path.is_dir())
    meta = settings.read_meta(layout.meta)
    written = (meta or {}).get("content", {}).get("format", "full")
    if written != "full":
        raise SpriError(f"{path} was written with --format {written}; export reads --format full batch output")
    files = layout.record_files()
    if not files:
        raise SpriError(f"{path} holds no batch records (part-*.jsonl)" if layout.parts else f"{path} is empty")
    return (record for file in files for _, record in written_records(file)), meta


def score_of(record: dict[str, Any], index: int) -> int | None:
    """The critic's score of the response stage's draft at ``index`` (-1: the final draft)."""
    drafts = record.get("drafts", {}).get(STAGE) or []
    critiques = record.get("critiques", {}).get(STAGE) or []
    position = len(drafts) - 1 if index == -1 else index
    if not drafts or not 0 <= position < len(critiques):
        return None
    score = critiques[position].get("score")
    return score if isinstance(score, int) else None


def prompt_id(prompt: str) -> str:
    return hashlib.sha256(prompt.encode("utf-8")).hexdigest()[:16]


def _prompt(record: dict[str, Any]) -> str:
    return str((record.get("input") or {}).get("query") or "")


def convert(record: dict[str, Any], fmt: ExportFormat) -> dict[str, Any] | None:
    """One export row, or None when the record makes no row of this format (a DPO pair without gain)."""
    prompt, response = _prompt(record), record.get("response") or ""
    extra = {
        "id": record.get("id"),
        "prompt_id": prompt_id(prompt),
        "score": score_of(record, -1),
        "stop_reason": (record.get("stop_reason") or {}).get(STAGE),
    }
    if fmt == "messages":
        return {"messages": [{"role": "user", "content": prompt}, {"role": "assistant", "content": response}], **extra}
    if fmt == "alpaca":
        goal = (record.get("input") or {}).get("goal") or ""
        return {"instruction": prompt, "input": str(goal), "output": response, **extra}
    drafts = record.get("drafts", {}).get(STAGE) or []
    first, final = score_of(record, 0), score_of(record, -1)
    if len(drafts) < 2 or first is None or final is None or final <= first:
        return None
    return {
        "prompt": [{"role": "user", "content": prompt}],
        "chosen": [{"role": "assistant", "content": response}],
        "rejected": [{"role": "assistant", "content": drafts[0]}],
        "chosen_score": final,
        "rejected_score": first,
        **extra,
    }


def export(out: str | Path, fmt: ExportFormat, filters: Filters) -> Export:
    """The rows of ``out`` in ``fmt`` that pass the filters; each id once (the first record)."""
    if filters.stop_reason is not None and filters.stop_reason not in STOP_REASONS:
        raise SpriError(f"--stop-reason {filters.stop_reason}: use one of {', '.join(STOP_REASONS)}")
    records, meta = batch_records(out)
    result = Export(meta=meta)
    seen: set[str] = set()
    for record in records:
        result.read += 1
        reason = _left_out(record, filters, seen)
        row = convert(record, fmt) if reason is None else None
        if reason is None and row is None:
            reason = "dpo_final_not_better_than_first_draft"
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
    if "drafts" not in record or "response" not in record:
        raise SpriError(f"record {key} is not a --format full batch record (no drafts/response)")
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
