"""What a request body must be before LangServe parses it: UTF-8 JSON with finite numbers of sane size,
nested at most :data:`MAX_DEPTH` deep, and text without lone surrogates. Anything else is answered 400
with the server's usual JSON body, so no client input can reach the application as a value it chokes on
(an infinite ``max_rounds``, a 5000-digit integer, a string that cannot be encoded)."""

from __future__ import annotations

import json
import math
from typing import Any

MAX_DEPTH = 32
"""Deepest nesting of arrays and objects a request may use (SPRI's own bodies use 4)."""

MAX_DIGITS = 64
"""Longest number literal, in characters (int() of thousands of digits is slow, and then refused)."""


class BadBody(ValueError):
    """A request body the server does not take; the message ("is not UTF-8 ...") says why."""


def _number(text: str) -> float:
    if len(text) > MAX_DIGITS:
        raise BadBody(f"has a number of more than {MAX_DIGITS} characters")
    value = float(text)
    if not math.isfinite(value):
        raise BadBody(f"has a number out of range ({text[:20]})")
    return value


def _integer(text: str) -> int:
    if len(text) > MAX_DIGITS:
        raise BadBody(f"has a number of more than {MAX_DIGITS} characters")
    return int(text)


def _constant(name: str) -> Any:
    raise BadBody(f"has {name}, which is not a JSON number")


def check_json_body(body: bytes) -> Any:
    """The parsed body, or :class:`BadBody` naming the problem."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadBody(f"is not UTF-8 ({exc.reason} at byte {exc.start})") from None
    try:
        data = json.loads(text, parse_float=_number, parse_int=_integer, parse_constant=_constant)
    except RecursionError:
        raise BadBody(f"is nested more than {MAX_DEPTH} levels deep") from None
    except json.JSONDecodeError as exc:
        raise BadBody(f"is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from None
    except BadBody:
        raise
    except ValueError as exc:  # int() limits
        raise BadBody(f"has a number that cannot be read ({str(exc)[:80]})") from None
    _check_values(data)
    return data


def _check_values(data: Any) -> None:
    """Depth and text, walked without recursion."""
    pending: list[tuple[Any, int]] = [(data, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, str):
            _check_text(value)
        elif isinstance(value, dict | list):
            if depth > MAX_DEPTH:
                raise BadBody(f"is nested more than {MAX_DEPTH} levels deep")
            items = value.items() if isinstance(value, dict) else ((None, item) for item in value)
            for key, item in items:
                if key is not None:
                    _check_text(key)
                pending.append((item, depth + 1))


def _check_text(text: str) -> None:
    if text.isascii():
        return
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        code = ord(text[exc.start])
        raise BadBody(f"has text with a lone surrogate (\\u{code:04x}), which is not Unicode") from None
