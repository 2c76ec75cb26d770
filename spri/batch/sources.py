"""Batch inputs: rows of a JSONL, CSV or Parquet file, or a Hugging Face dataset, with their row numbers."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from spri.api import SpriError
from spri.jsonl import BadLine, iter_jsonl

Row = tuple[int, dict[str, Any] | BadLine]


def read_rows(source: str, *, split: str = "train") -> Iterator[Row]:
    """(row number, row) from a JSONL, CSV or Parquet file, or a Hugging Face dataset name. A missing
    file or unsupported type is an error at once, before anything is read or written."""
    return open_source(source, split=split)()


def open_source(source: str, *, split: str = "train") -> Callable[[], Iterator[Row]]:
    """A function that gives the source's rows from the start on every call (a batch reads them twice:
    once to run, once ahead to count). Files are reopened; a dataset or table is loaded once."""
    path = Path(source).expanduser()
    suffix = path.suffix.lower()
    if path.is_file():
        if suffix in (".jsonl", ".json", ".ndjson"):
            return lambda: iter_jsonl(path)
        if suffix in (".csv", ".tsv"):
            return lambda: _csv_rows(path, "\t" if suffix == ".tsv" else ",")
        if suffix == ".parquet":
            return _Loaded(lambda: _parquet_table(path))
        raise SpriError(f"{path}: unsupported input type '{suffix}' (use .jsonl, .csv or .parquet)")
    if suffix or path.exists() or source.startswith((".", "/", "~")) or source.count("/") > 1:
        raise SpriError(f"input file not found: {path}")
    return _Loaded(lambda: _hub_dataset(source, split))  # a name such as "tatsu-lab/alpaca"


class _Loaded:
    """Rows of a table loaded on first use (so load errors come with the first row) and kept."""

    def __init__(self, load: Callable[[], Any]) -> None:
        self.load, self.table = load, None

    def __call__(self) -> Iterator[Row]:
        if self.table is None:
            self.table = self.load()
        return self._rows(self.table)

    @staticmethod
    def _rows(table: Any) -> Iterator[Row]:
        if hasattr(table, "to_batches"):  # a pyarrow table: a batch of rows at a time
            number = 0
            for batch in table.to_batches():
                for row in batch.to_pylist():
                    number += 1
                    yield number, row
            return
        for number, row in enumerate(table, 1):
            yield number, dict(row)


def _csv_rows(path: Path, delimiter: str) -> Iterator[Row]:
    """CSV records decoded one at a time: a record with bytes that are not UTF-8 comes back as a
    :class:`BadLine` (its first line and the file offset of the first bad byte) and the rest is read on."""
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise SpriError(f"cannot read {path}: {exc.strerror or exc}") from exc
    with handle:
        lines = _TrackedLines(io.TextIOWrapper(handle, encoding="utf-8", errors="surrogateescape", newline=""))
        reader = csv.reader(lines, delimiter=delimiter)
        try:
            header = _csv_record(reader, lines)
        except csv.Error as exc:
            raise SpriError(f"{path}, line {lines.count}: malformed CSV header ({exc})") from exc
        if header is None:
            return
        if lines.first_bad_byte() is not None:
            raise SpriError(f"{path}: the header line is not UTF-8 (byte {lines.first_bad_byte()})")
        columns = [header[0].removeprefix("\ufeff"), *header[1:]] if header else []
        while True:
            start = lines.count + 1
            try:
                values = _csv_record(reader, lines)
            except csv.Error as exc:  # this record only (a field over the size limit, say): the rest is read on
                yield start, BadLine(start, f"malformed CSV ({exc})")
                continue
            if values is None:
                return
            bad = lines.first_bad_byte()
            if bad is not None:
                yield start, BadLine(start, f"not UTF-8 (byte {bad} of the file)", bad)
            elif values:
                yield start, _as_row(columns, values)


def _csv_record(reader: Any, lines: _TrackedLines) -> list[str] | None:
    lines.taken.clear()
    return next(reader, None)


def _as_row(columns: list[str], values: list[str]) -> dict[str, Any]:
    """Like csv.DictReader: missing values are None, surplus values a list under the key None."""
    row: dict[Any, Any] = dict(zip(columns, values, strict=False))
    for name in columns[len(values) :]:
        row[name] = None
    if len(values) > len(columns):
        row[None] = values[len(columns) :]
    return row


class _TrackedLines:
    """The lines of a text file decoded with surrogateescape, remembering where each starts in bytes, so
    the true offset of a byte that is not UTF-8 can be named."""

    def __init__(self, text: Iterator[str]) -> None:
        self.text, self.offset, self.count = text, 0, 0
        self.taken: list[tuple[int, str]] = []

    def __iter__(self) -> _TrackedLines:
        return self

    def __next__(self) -> str:
        line = next(self.text)
        self.taken.append((self.offset, line))
        self.offset += len(line.encode("utf-8", "surrogateescape"))
        self.count += 1
        return line

    def first_bad_byte(self) -> int | None:
        for offset, line in self.taken:
            try:
                line.encode("utf-8")
            except UnicodeEncodeError as exc:
                return offset + len(line[: exc.start].encode("utf-8"))
        return None


def _parquet_table(path: Path) -> Any:
    try:
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise SpriError("reading Parquet needs pyarrow: pip install 'spri[batch]'") from exc
    try:
        return pq.read_table(path)
    except Exception as exc:
        raise SpriError(f"{path}: cannot read Parquet ({exc})") from exc


def _hub_dataset(name: str, split: str) -> Any:
    try:
        import datasets
    except ImportError as exc:
        raise SpriError(f"'{name}' is not a file; to read a Hugging Face dataset: pip install 'spri[hf]'") from exc
    try:
        return datasets.load_dataset(name, split=split)
    except Exception as exc:
        raise SpriError(f"cannot load dataset '{name}' (split {split}): {exc}") from exc
