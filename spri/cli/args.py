"""Reading command-line values: TEXT, @FILE or - for stdin."""

from __future__ import annotations

import sys
from pathlib import Path

from spri.api import SpriError


def text_arg(value: str | None, name: str) -> str | None:
    """TEXT as given, @FILE (the file's text) or - (standard input)."""
    if value is None:
        return None
    if value == "-":
        stdin = getattr(sys.stdin, "buffer", sys.stdin)
        return _utf8(stdin.read(), name, "standard input")
    if value.startswith("@"):
        path = Path(value[1:]).expanduser()
        try:
            return path.read_text(encoding="utf-8")
        except FileNotFoundError as exc:
            raise SpriError(f"{name}: file not found: {path}") from exc
        except (OSError, UnicodeDecodeError) as exc:
            raise SpriError(f"{name}: cannot read {path}: {exc}") from exc
    return _utf8(value, name, "the argument")


def _utf8(text: str | bytes, name: str, where: str) -> str:
    """Text as given, or an error naming the first byte that is not UTF-8 (an undecodable command-line
    argument arrives with such bytes escaped, which no model or database can take)."""
    try:
        raw = text if isinstance(text, bytes) else text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        raw = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpriError(f"{name}: {where} is not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
