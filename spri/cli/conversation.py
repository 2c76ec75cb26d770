"""`spri ask --conversation FILE.jsonl` (or - for stdin): the conversation a query ends, one message a
line as ``{"role": ..., "content": ...}``; a line that is no such message is an error naming the file
and the line."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

from spri.api import SpriError, as_turn
from spri.jsonl import BadLine, iter_jsonl, parse_line


def _stdin_lines() -> Iterator[tuple[int, dict[str, Any] | BadLine]]:
    stdin = getattr(sys.stdin, "buffer", sys.stdin)
    for number, raw in enumerate(stdin, 1):
        line = raw if isinstance(raw, bytes) else raw.encode("utf-8", "surrogateescape")
        if line.strip():
            yield number, parse_line(line, number)


def read_conversation(source: str) -> list[dict[str, str]]:
    """The messages of a JSONL file (``-``: standard input), oldest first, as ``{role, content}``."""
    where = "standard input" if source == "-" else source
    lines = _stdin_lines() if source == "-" else iter_jsonl(source)
    try:
        records = list(lines)
    except SpriError as exc:  # the file cannot be opened
        raise SpriError(f"--conversation: {exc}") from None
    turns: list[dict[str, str]] = []
    for number, record in records:
        if isinstance(record, BadLine):
            raise SpriError(f"--conversation {where}, line {number}: {record.reason}")
        try:
            turn = as_turn(record)
            turns.append({"role": turn["role"], "content": turn["content"]})
        except ValueError as exc:
            raise SpriError(f"--conversation {where}, line {number}: the message {exc}") from None
    if not turns:
        raise SpriError(f"--conversation {where}: no messages (one JSON object a line: role, content)")
    return turns
