"""JSON Lines in and out, safely: input errors carry line numbers, output survives kills.

An :class:`AppendLog` is the output of long runs (batch generation, live evaluation). Each record is
one ``write`` of one complete line, flushed and fsynced before the next is started; on opening, a
trailing line without its newline (a write cut short by a kill or a full disk) is cut off, so a
re-run never sees a partial record and resumes from the complete ones.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spri.api import SpriError


@dataclass
class BadLine:
    number: int
    reason: str


def iter_jsonl(path: str | Path) -> Iterator[tuple[int, dict[str, Any] | BadLine]]:
    """(line number, record) for every non-blank line; lines that are not UTF-8 JSON objects come back
    as :class:`BadLine` with the reason, so callers can report them and go on with the rest."""
    path = Path(path)
    try:
        handle = path.open("rb")
    except FileNotFoundError as exc:
        raise SpriError(f"file not found: {path}") from exc
    except OSError as exc:
        raise SpriError(f"cannot read {path}: {exc.strerror or exc}") from exc
    with handle:
        for number, raw in enumerate(handle, 1):
            if not raw.strip():
                continue
            try:
                record = json.loads(raw.decode("utf-8"))
            except UnicodeDecodeError as exc:
                yield number, BadLine(number, f"not UTF-8 ({exc.reason} at byte {exc.start})")
                continue
            except json.JSONDecodeError as exc:
                yield number, BadLine(number, f"not valid JSON ({exc.msg}, column {exc.colno})")
                continue
            if not isinstance(record, dict):
                yield number, BadLine(number, "not a JSON object")
                continue
            yield number, record


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """Every record of a JSONL file; the first bad line is an error naming the file and line."""
    records = []
    for number, record in iter_jsonl(path):
        if isinstance(record, BadLine):
            raise SpriError(f"{path}, line {number}: {record.reason}")
        records.append(record)
    return records


class AppendLog:
    """An append-only JSONL file of finished records that a re-run resumes from."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._repair()
        except OSError as exc:
            raise SpriError(f"cannot write {self.path}: {exc.strerror or exc}") from exc
        self.records: list[dict[str, Any]] = []
        if self.path.exists():
            self.records = [r for _, r in iter_jsonl(self.path) if isinstance(r, dict)]
        self._fd = -1  # opened on the first append, so a run with nothing to record leaves no file

    def _repair(self) -> None:
        """Cut a trailing partial line left by an interrupted write."""
        if not self.path.exists():
            return
        with self.path.open("rb+") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            if size == 0:
                return
            handle.seek(size - 1)
            if handle.read(1) == b"\n":
                return
            chunk = 1 << 16
            position = size
            while position > 0:
                start = max(0, position - chunk)
                handle.seek(start)
                data = handle.read(position - start)
                newline = data.rfind(b"\n")
                if newline >= 0:
                    handle.truncate(start + newline + 1)
                    return
                position = start
            handle.truncate(0)

    def keys(self, *fields: str) -> set[tuple[Any, ...]]:
        return {tuple(r.get(f) for f in fields) for r in self.records}

    def append(self, record: dict[str, Any]) -> None:
        line = (json.dumps(record, ensure_ascii=False, default=str) + "\n").encode("utf-8")
        if self._fd < 0:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        written = os.write(self._fd, line)
        if written != len(line):  # pragma: no cover - a full disk; never leave half a line behind
            raise SpriError(f"short write to {self.path} ({written} of {len(line)} bytes)")
        os.fsync(self._fd)
        self.records.append(record)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> AppendLog:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
