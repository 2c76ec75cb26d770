"""JSON Lines in and out, safely: input errors carry line numbers, output survives kills.

Output of long runs (batch generation, live evaluation) is written by a :class:`LineWriter`: each record
is one ``write`` of one complete line, fsynced before the next is started; a write the disk cannot take
is undone (the file is cut back to its last complete line) and named with its errno. On opening, a
trailing line without its newline (a write cut short by a kill) is cut off by :func:`cut_torn_tail`, so a
re-run never sees a partial record and resumes from the complete ones. A *complete* line that is not a
JSON object was not written by us: reading it back is an error naming the file and line, never skipped.
:class:`AppendLog` puts these together for callers that keep every record in memory.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spri.state import SpriError


@dataclass
class BadLine:
    number: int
    reason: str
    offset: int | None = None
    """Byte offset in the file of the first byte at fault, when known (bytes that are not UTF-8)."""


def iter_jsonl(path: str | Path, *, complete_only: bool = False) -> Iterator[tuple[int, dict[str, Any] | BadLine]]:
    """(line number, record) for every non-blank line; a line that is not a UTF-8 JSON object (or that
    Python cannot hold: a number of thousands of digits, nesting thousands deep, a lone surrogate)
    comes back as :class:`BadLine` with the reason, so callers can report it and go on with the rest.
    ``complete_only`` leaves out a last line without its newline (a write cut short)."""
    path = Path(path)
    try:
        handle = path.open("rb")
    except FileNotFoundError as exc:
        raise SpriError(f"file not found: {path}") from exc
    except OSError as exc:
        raise SpriError(f"cannot read {path}: {exc.strerror or exc}") from exc
    with handle:
        start = 0
        for number, raw in enumerate(handle, 1):
            line_start, start = start, start + len(raw)
            if not raw.strip() or (complete_only and not raw.endswith(b"\n")):
                continue
            yield number, parse_line(raw, number, line_start)


def parse_line(raw: bytes, number: int, line_start: int = 0) -> dict[str, Any] | BadLine:
    """One line as a JSON object, or why it is not one (``line_start``: its byte offset in the file)."""
    try:
        record = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        at = line_start + exc.start
        return BadLine(number, f"not UTF-8 ({exc.reason} at byte {at} of the file)", at)
    except json.JSONDecodeError as exc:
        return BadLine(number, f"not valid JSON at column {exc.colno}: {_json_problem(exc.msg)}")
    except ValueError:  # the only other error of json.loads: an integer beyond Python's digit limit
        return BadLine(number, f"holds a number too long to read (over {sys.get_int_max_str_digits()} digits)")
    except RecursionError:
        return BadLine(number, "nested too deeply to read (arrays or objects inside each other)")
    if not isinstance(record, dict):
        return BadLine(number, "not a JSON object")
    surrogate = _lone_surrogate(record) if b"\\u" in raw else None
    if surrogate is not None:
        return BadLine(number, f"not valid Unicode: a string holds the lone surrogate \\u{ord(surrogate):04x}")
    return record


def _json_problem(message: str) -> str:
    """json's own message, readable after "at column N: " (its messages end in "at" before a position)."""
    text = message.removesuffix(" at")
    text = text[:1].lower() + text[1:]
    if text.startswith("invalid control character"):
        text += " (a tab or line break inside a string must be written \\t or \\n)"
    return text


def _lone_surrogate(record: dict[str, Any]) -> str | None:
    """A surrogate standing alone in a string, if any (``"\\ud800"`` is valid JSON but no character:
    it cannot be written as UTF-8 or sent to a model)."""
    try:
        json.dumps(record, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        return str(exc.object[exc.start])
    except (RecursionError, ValueError):
        return None
    return None


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """Every record of a JSONL file; the first bad line is an error naming the file and line."""
    records = []
    for number, record in iter_jsonl(path):
        if isinstance(record, BadLine):
            raise SpriError(f"{path}, line {number}: {record.reason}")
        records.append(record)
    return records


def written_records(path: str | Path, *, complete_only: bool = False) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, record) of an output file spri writes (see :class:`LineWriter`). Every complete line
    must be a JSON object: anything else is an error naming the line, since it was not written by us.
    ``complete_only``: a torn last line is left out (the writer cuts it when it opens the file)."""
    for number, record in iter_jsonl(path, complete_only=complete_only):
        if isinstance(record, BadLine):
            raise SpriError(
                f"{path}, line {number}: {record.reason}; spri writes only JSON records here, so this line "
                "was changed by something else: fix or remove it, then run again"
            )
        yield number, record


def has_torn_tail(path: str | Path) -> bool:
    """Whether the file ends in a partial line (a write cut short); False if it is missing or empty."""
    try:
        with Path(path).open("rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            return size > 0 and handle.seek(size - 1) >= 0 and handle.read(1) != b"\n"
    except FileNotFoundError:
        return False


def cut_torn_tail(path: str | Path) -> None:
    """Cut a trailing partial line left by an interrupted write (nothing if the file is missing)."""
    path = Path(path)
    if not path.is_file():
        return
    with path.open("rb+") as handle:
        size = handle.seek(0, os.SEEK_END)
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


def write_failure(path: Path, exc: OSError) -> SpriError:
    """A failed write as one line naming the file and the errno (e.g. 'no space left on device')."""
    name = errno.errorcode.get(exc.errno or 0, "")
    reason = (exc.strerror or str(exc)).lower()
    return SpriError(f"cannot write {path}: {reason}" + (f" ({name})" if name else ""))


def encode_line(record: dict[str, Any]) -> bytes:
    """A record as one line of UTF-8 JSON. A lone surrogate (no character; a model's reply may hold
    one) becomes U+FFFD, so the line can always be written and every reader of it accepts it."""
    text = json.dumps(record, ensure_ascii=False, default=str) + "\n"
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace").encode("utf-8")


class LineWriter:
    """Appends JSON records to a file, one complete fsynced line each. The file is opened at once, so a
    path that cannot be written fails before any work is done; a file this writer created and never
    wrote to is removed again on :meth:`close`."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.written = 0
        existed = self.path.exists()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as exc:
            raise write_failure(self.path, exc) from exc
        self._created = not existed

    def append(self, record: dict[str, Any]) -> None:
        line = encode_line(record)
        done = 0
        try:
            while done < len(line):  # a short write (a nearly full disk) is continued, or fails below
                done += os.write(self._fd, line[done:])
            os.fsync(self._fd)
        except OSError as exc:
            self._undo(done)
            raise write_failure(self.path, exc) from exc
        self.written += 1

    def _undo(self, done: int) -> None:
        """Cut the part of a line that made it to the file, so no half line is left behind."""
        if done:
            with contextlib.suppress(OSError):  # else the next run's cut_torn_tail removes it
                os.ftruncate(self._fd, os.fstat(self._fd).st_size - done)

    def close(self) -> None:
        if self._fd < 0:
            return
        os.close(self._fd)
        self._fd = -1
        if self._created and not self.written and self.path.is_file() and self.path.stat().st_size == 0:
            self.path.unlink(missing_ok=True)


class AppendLog:
    """An append-only JSONL file of finished records, all kept in :attr:`records`, that a re-run resumes
    from."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        # Read first, then open for writing, then cut a torn tail: a file this refuses stays as it was.
        self.records = [r for _, r in written_records(self.path, complete_only=True)] if self.path.exists() else []
        self._writer = LineWriter(self.path)  # a path that cannot be written is named as such
        try:
            cut_torn_tail(self.path)
        except OSError as exc:
            self._writer.close()
            raise write_failure(self.path, exc) from exc

    def keys(self, *fields: str) -> set[tuple[Any, ...]]:
        return {tuple(r.get(f) for f in fields) for r in self.records}

    def append(self, record: dict[str, Any]) -> None:
        self._writer.append(record)
        self.records.append(record)

    def close(self) -> None:
        self._writer.close()

    def __enter__(self) -> AppendLog:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
