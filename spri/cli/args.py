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
        return sys.stdin.read()
    if value.startswith("@"):
        path = Path(value[1:]).expanduser()
        try:
            return path.read_text(encoding="utf-8")
        except FileNotFoundError as exc:
            raise SpriError(f"{name}: file not found: {path}") from exc
        except (OSError, UnicodeDecodeError) as exc:
            raise SpriError(f"{name}: cannot read {path}: {exc}") from exc
    return value
