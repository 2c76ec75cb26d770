"""A batch's output, whichever engine runs it: one JSONL file or a folder of part files, a new part per
run (see :mod:`spri.batch.layout` for where each file is). One process (the driver) writes, under an
exclusive lock.

Opening a store checks everything before the first model call and before any file changes: the output
is not the input, it is a batch output of ours (or new), it was made with the same content settings,
every complete line of it and of its errors file is a record, and its files can be written. A run
refused by any of these leaves every file as it was. Only then does it record the settings, repair what
a kill may have left (a torn last line; a repeated id, keeping the first line) and open its writers.
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
from spri.batch.formats import format_named
from spri.batch.layout import Layout
from spri.batch.lock import OutputLock
from spri.jsonl import (
    AppendLog,
    BadLine,
    LineWriter,
    cut_torn_tail,
    has_torn_tail,
    iter_jsonl,
    write_failure,
    written_records,
)


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
        self._lock = OutputLock(self.layout).acquire()
        try:
            meta = settings.read_meta(self.layout.meta)
            if meta is None:
                check_ours(self.layout, self.content["format"])
            else:
                settings.check(meta, self.content, self.layout.out, self.layout.meta)
            check_writable(self._changed_in_place())
            repeated = self._read_finished()
            check_records(self.layout.errors)
            self._write_meta(meta)
            self._repair(repeated)
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
            self.layout.meta.with_name(self.layout.meta.name + ".tmp").unlink(missing_ok=True)
            raise write_failure(self.layout.meta, exc) from exc

    def _read_finished(self) -> dict[Path, set[int]]:
        """The ids already done (from complete lines only), and the lines repeating an earlier id."""
        first: set[str] = set()
        repeated: dict[Path, set[int]] = {}
        for path in self.layout.record_files():
            for number, record in written_records(path, complete_only=True):
                key = str(record.get("id"))
                if key in first:
                    repeated.setdefault(path, set()).add(number)
                else:
                    first.add(key)
        self.finished = first
        return repeated

    def _changed_in_place(self) -> list[Path]:
        """The existing files this run appends to or cuts (files that lose repeated lines are replaced)."""
        torn = [p for p in self.layout.record_files() if has_torn_tail(p)]
        return [*([] if self.layout.parts else [self.layout.out]), *torn, self.layout.errors]

    def _repair(self, repeated: dict[Path, set[int]]) -> None:
        """Cut torn last lines; drop repeated ids (the output file is then a new file: locked again)."""
        try:
            for path in [*self.layout.record_files(), self.layout.errors]:
                cut_torn_tail(path)
            for path, numbers in repeated.items():
                drop_lines(path, numbers)
                if path == self.layout.out and self._lock is not None:
                    self._lock.relock()
                self.duplicates_removed += len(numbers)
                print(
                    f"spri: removed {len(numbers)} repeated id(s) from {path}, kept the first of each", file=sys.stderr
                )
        except OSError as exc:
            raise write_failure(getattr(exc, "filename", None) or self.layout.out, exc) from exc

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


def check_records(path: Path) -> None:
    """Every complete line of ``path`` (if it exists) is a record: else an error naming the line."""
    if path.exists():
        for _ in written_records(path, complete_only=True):
            pass


def check_writable(paths: Iterable[Path]) -> None:
    """Each existing file can be opened for appending (opened and closed again: nothing changes). New
    files go into the output's folder, where the lock file was just created."""
    for path in paths:
        if not path.exists():
            continue
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC))
        except OSError as exc:
            raise write_failure(path, exc) from exc


def refuse_input(layout: Layout, source: str) -> None:
    """The output (or its errors or settings file) must not be the input file."""
    given = Path(source).expanduser()
    if given.is_file() and layout.holds(given):
        raise SpriError(f"-o {layout.out} would overwrite the input {source}: write the output somewhere else")


def check_ours(layout: Layout, fmt: str) -> None:
    """An output without a settings file must be new, empty, or (made before settings files) look like a
    batch output in every line; anything else is some other file, which a batch must not touch."""
    out = layout.out
    if layout.parts:
        others = [p.name for p in out.iterdir() if p != layout.lock] if out.is_dir() else []
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
    """Whether every complete line of ``path`` (at least one) is a record of ``fmt``: a batch output made
    before settings files."""
    keys = ("id", *format_named(fmt, "batch").keys)
    seen = False
    try:
        for _, record in iter_jsonl(path, complete_only=True):
            if isinstance(record, BadLine) or not all(k in record for k in keys):
                return False
            seen = True
    except SpriError:  # not readable
        return False
    return seen


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
