"""Tables of evaluation rows as plain text, Markdown, CSV or JSON."""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import BaseModel


def _cell(value: Any, digits: int) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _matrix(rows: Sequence[BaseModel], columns: Sequence[str], digits: int) -> list[list[str]]:
    """The cells as text; a number a row marks as significant (``significance``) gets its marks beside it."""

    def marked(row: BaseModel, column: str) -> str:
        marks = (getattr(row, "significance", None) or {}).get(column, "")
        return _cell(getattr(row, column), digits) + marks

    return [[marked(row, c) for c in columns] for row in rows]


def text_table(rows: Sequence[BaseModel], columns: Sequence[str], digits: int = 3) -> str:
    body = _matrix(rows, columns, digits)
    widths = [max(len(c), *(len(r[i]) for r in body)) if body else len(c) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in body]
    return "\n".join(lines)


def markdown_table(rows: Sequence[BaseModel], columns: Sequence[str], digits: int = 3) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(r) + " |" for r in _matrix(rows, columns, digits)]
    return "\n".join(lines)


def pivot_markdown(
    rows: Sequence[BaseModel],
    index: str,
    column: str,
    value: str,
    digits: int = 3,
    order: Callable[[Any], Any] | None = None,
) -> str:
    """A wide table: one line per ``index`` value (sorted by ``order``, else as they come), one column
    per ``column`` value (paper layout)."""
    index_values = list(dict.fromkeys(getattr(r, index) for r in rows))
    if order is not None:
        index_values.sort(key=order)
    column_values = list(dict.fromkeys(getattr(r, column) for r in rows))
    cells = {(getattr(r, index), getattr(r, column)): getattr(r, value) for r in rows}
    lines = ["| " + " | ".join([index, *column_values]) + " |", "|" + "---|" * (len(column_values) + 1)]
    for i in index_values:
        lines.append("| " + " | ".join([i, *(_cell(cells.get((i, c)), digits) for c in column_values)]) + " |")
    return "\n".join(lines)


def csv_text(rows: Sequence[BaseModel], columns: Sequence[str]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if getattr(row, c) is None else getattr(row, c) for c in columns])
    return out.getvalue()


def json_rows(rows: Sequence[BaseModel], columns: Sequence[str]) -> str:
    def clean(value: Any) -> Any:
        return None if isinstance(value, float) and math.isnan(value) else value

    return json.dumps([{c: clean(getattr(r, c)) for c in columns} for r in rows], indent=2)
