"""Batch inputs: rows of a JSONL, CSV or Parquet file, or a Hugging Face dataset, with their row numbers."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from spri.api import SpriError
from spri.jsonl import BadLine, iter_jsonl

Row = tuple[int, dict[str, Any] | BadLine]


def read_rows(source: str, *, split: str = "train") -> Iterator[Row]:
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


def _csv_rows(path: Path, delimiter: str) -> Iterator[Row]:
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


def _parquet_rows(path: Path) -> Iterator[Row]:
    try:
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise SpriError("reading Parquet needs pyarrow: pip install 'spri[batch]'") from exc
    try:
        table = pq.read_table(path)
    except Exception as exc:
        raise SpriError(f"{path}: cannot read Parquet ({exc})") from exc
    yield from enumerate(table.to_pylist(), 1)


def _hub_rows(name: str, split: str) -> Iterator[Row]:
    try:
        import datasets
    except ImportError as exc:
        raise SpriError(f"'{name}' is not a file; to read a Hugging Face dataset: pip install 'spri[hf]'") from exc
    try:
        dataset = datasets.load_dataset(name, split=split)
    except Exception as exc:
        raise SpriError(f"cannot load dataset '{name}' (split {split}): {exc}") from exc
    for number, row in enumerate(dataset, 1):
        yield number, dict(row)
