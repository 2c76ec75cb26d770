"""Where a batch's records go, whichever engine runs it: one JSONL file (``OUT``, with ``OUT.errors.jsonl``,
``OUT.meta.json``) or a directory of part files (``OUT/part-00000.jsonl`` ..., ``OUT/errors.jsonl``,
``OUT/meta.json``), a new part per run. One process (the driver) writes, under an exclusive lock.

Opening a store checks everything before the first model call: the output is not the input, it is a
batch output of ours (or new), it was made with the same content settings, and it can be written. It
then reads the ids already done (cutting a torn last line, removing any duplicate line, keeping the first).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spri.api import SpriError
from spri.batch import settings
from spri.batch.lock import OutputLock
from spri.jsonl import AppendLog, LineWriter, cut_torn_tail, write_failure, written_records

PART_PREFIX = "part-"
FORMAT_KEYS = {"full": ("response", "stop_reason"), "messages": ("messages",), "alpaca": ("instruction", "output")}
"""Keys every record of a format has (besides ``id``): how an output made before settings files is recognised."""


def errors_path(out: str | Path) -> Path:
    """The errors file of an output: ``OUT.errors.jsonl``, or ``OUT/errors.jsonl`` for a part directory."""
    out = Path(out)
    if out.is_dir():
        return out / "errors.jsonl"
    return out.with_name(out.name.removesuffix(".jsonl") + ".errors.jsonl")


@dataclass(frozen=True)
class Layout:
    out: Path
    parts: bool

    @classmethod
    def choose(cls, out: str | Path, engine: str) -> Layout:
        """An existing output keeps its shape; a new one is a file for the local engine and a part
        directory for the ray engine (or when the path ends with a slash)."""
        path = Path(out).expanduser()
        if path.is_dir():
            return cls(path, True)
        if path.exists():
            return cls(path, False)
        return cls(path, engine == "ray" or str(out).endswith(os.sep))

    @property
    def meta(self) -> Path:
        return self.out / "meta.json" if self.parts else self.out.with_name(self.out.name + ".meta.json")

    @property
    def lock(self) -> Path:
        return self.out / ".lock" if self.parts else self.out.with_name(self.out.name + ".lock")

    @property
    def errors(self) -> Path:
        return self.out / "errors.jsonl" if self.parts else errors_path(self.out)

    def record_files(self) -> list[Path]:
        if not self.parts:
            return [self.out] if self.out.is_file() else []
        return sorted(self.out.glob(f"{PART_PREFIX}*.jsonl"))

    def next_part(self) -> Path:
        numbers = [int(p.stem.removeprefix(PART_PREFIX)) for p in self.record_files() if p.stem[5:].isdigit()]
        return self.out / f"{PART_PREFIX}{max(numbers, default=-1) + 1:05d}.jsonl"


@dataclass
class Store:
    layout: Layout
    source: str
    content: dict[str, Any]
    run: dict[str, Any]
    finished: set[str] = field(default_factory=set)
    duplicates_removed: int = 0
    errors: AppendLog | None = None
    _writer: LineWriter | None = None
    _lock: OutputLock | None = None

    def open(self) -> Store:
        refuse_input(self.layout, self.source)
        self._lock = OutputLock(self.layout.lock, self.layout.out).acquire()
        try:
            meta = settings.read_meta(self.layout.meta)
            if meta is None:
                check_ours(self.layout, self.content["format"])
            else:
                settings.check(meta, self.content, self.layout.out, self.layout.meta)
            self._write_meta(meta)
            self._load()
            self.errors = AppendLog(self.layout.errors)
            self._writer = LineWriter(self.layout.next_part() if self.layout.parts else self.layout.out)
        except BaseException:
            self.close()
            raise
        return self

    def _write_meta(self, previous: Mapping[str, Any] | None) -> None:
        try:
            settings.write_meta(self.layout.meta, previous, self.content, self.run)
        except OSError as exc:
            raise write_failure(self.layout.meta, exc) from exc

    def _load(self) -> None:
        first: dict[str, tuple[Path, int]] = {}
        repeated: dict[Path, set[int]] = {}
        for path in self.layout.record_files():
            try:
                cut_torn_tail(path)
            except OSError as exc:
                raise write_failure(path, exc) from exc
            for number, record in written_records(path):
                key = str(record.get("id"))
                if key in first:
                    repeated.setdefault(path, set()).add(number)
                else:
                    first[key] = (path, number)
        for path, numbers in repeated.items():
            drop_lines(path, numbers)
            self.duplicates_removed += len(numbers)
            print(f"spri: removed {len(numbers)} repeated id(s) from {path}, kept the first of each", file=sys.stderr)
        self.finished = set(first)

    @property
    def failed_before(self) -> set[str]:
        assert self.errors is not None
        return {str(r.get("id")) for r in self.errors.records} - self.finished

    def add(self, item_id: str, record: dict[str, Any]) -> None:
        assert self._writer is not None
        self._writer.append(record)
        self.finished.add(item_id)

    def fail(self, record: dict[str, Any]) -> None:
        assert self.errors is not None
        self.errors.append(record)

    def close(self) -> None:
        try:
            if self.errors is not None:
                self.errors.close()
                compact_errors(self.errors, self.finished)
            if self._writer is not None:
                self._writer.close()
        finally:
            if self._lock is not None:
                self._lock.release()
                self._lock = None


def refuse_input(layout: Layout, source: str) -> None:
    """The output (or its errors or settings file) must not be the input file."""
    given = Path(source).expanduser()
    if not given.is_file():
        return
    candidates = [layout.out, layout.errors, layout.meta]
    inside = layout.parts and given.resolve().parent == layout.out.resolve()
    if inside or any(p.exists() and os.path.samefile(p, given) for p in candidates):
        raise SpriError(f"-o {layout.out} would overwrite the input {source}: write the output somewhere else")


def check_ours(layout: Layout, fmt: str) -> None:
    """An output without a settings file must be new, empty, or (made before settings files) look like a
    batch output in every line; anything else is some other file, which a batch must not touch."""
    out = layout.out
    if layout.parts:
        others = [p.name for p in out.iterdir() if p.name != ".lock"] if out.is_dir() else []
        if others:
            raise SpriError(f"{out} is a folder that is not a spri batch output (no meta.json); use another -o")
        return
    if not out.exists():
        return
    if not out.is_file():
        raise SpriError(f"-o {out} is not a regular file; use another -o")
    if out.stat().st_size and not looks_like_output(out, fmt):
        raise SpriError(
            f"{out} exists and is not a spri batch output of --format {fmt} (no {layout.meta.name} beside it); "
            "spri will not write into it: use another -o"
        )


def looks_like_output(path: Path, fmt: str) -> bool:
    keys = ("id", *FORMAT_KEYS.get(fmt, ()))
    try:
        with path.open("rb") as handle:
            lines = [line for line in handle if line.endswith(b"\n") and line.strip()]
    except OSError:
        return False
    for raw in lines:
        try:
            record = json.loads(raw)
        except ValueError:
            return False
        if not isinstance(record, dict) or not all(k in record for k in keys):
            return False
    return bool(lines)


def drop_lines(path: Path, numbers: Iterable[int]) -> None:
    """Rewrite ``path`` without the given (1-based) lines, atomically."""
    skip = set(numbers)
    temporary = path.with_name(path.name + ".tmp")
    with path.open("rb") as source, temporary.open("wb") as target:
        for number, line in enumerate(source, 1):
            if number not in skip:
                target.write(line)
        target.flush()
        os.fsync(target.fileno())
    os.replace(temporary, path)


def compact_errors(errors: AppendLog, finished: set[str]) -> None:
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
    temporary = errors.path.with_name(errors.path.name + ".tmp")
    with temporary.open("w", encoding="utf-8") as handle:
        for record in latest.values():
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, errors.path)
