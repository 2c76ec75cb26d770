"""Rendering a profile's templates while knowing which characters of the result came from outside.

Every ``{{ expression }}`` a template outputs is outside text (an input field, principles, a seed
example, a draft, anything sliced or joined from them) unless its value is :class:`Own`: the profile's
scale and levels, and the verdicts and feedback the project's models wrote. A template's literal text
is the profile's own. The renderer wraps each outside output in two reserved characters (Unicode
noncharacters, removed from every value first, so input cannot forge them) and takes them out again,
keeping their positions: :class:`Shown` is the exact prompt text plus the spans of it that came from
outside, after whatever slicing, joining and stripping the template did. A verdict's score markers are
compared with those spans (``spri.models.parsing``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

_OPEN, _CLOSE = "\ufdd0", "\ufdd1"
_RESERVED = re.compile("[\ufdd0-\ufdef]")
"""Unicode's noncharacters for internal use: the span marks, never taken from a value."""


class Own(str):
    """Text that is not outside text where a template shows it whole: the profile's scale and levels,
    shared passages without outside parts, and the verdicts and critic feedback the project's models
    wrote. A slice or other change of it is outside text again (a plain ``str``)."""

    __slots__ = ()


Span = tuple[int, int]


@dataclass(frozen=True)
class Shown:
    """A prompt's text and the ``(start, end)`` spans of it that came from outside."""

    text: str
    outside: tuple[Span, ...] = ()

    @classmethod
    def of(cls, text: str) -> Shown:
        """Text shown as it is: outside text, unless it is :class:`Own`."""
        return cls(str(text), () if isinstance(text, Own) or not text else ((0, len(text)),))

    @classmethod
    def join(cls, parts: Iterable[Shown], separator: str = "\n") -> Shown:
        """Several texts shown together (the messages of one call), one after another."""
        text, spans = "", []
        for part in parts:
            if text:
                text += separator
            spans += [(start + len(text), end + len(text)) for start, end in part.outside]
            text += part.text
        return cls(text, tuple(spans))

    def touches_outside(self, start: int, end: int) -> bool:
        """True if any character in ``[start, end)`` came from outside."""
        return any(s < end and start < e for s, e in self.outside)


def clean(value: Any) -> Any:
    """``value`` with the reserved characters removed from every string in it (kinds kept)."""
    if isinstance(value, str):
        if not _RESERVED.search(value):
            return value
        text = _RESERVED.sub("", value)
        return Own(text) if isinstance(value, Own) else text
    if isinstance(value, list | tuple):
        return type(value)(clean(item) for item in value)
    if isinstance(value, Mapping):
        return {key: clean(item) for key, item in value.items()}
    return value


def _balanced(text: str) -> bool:
    depth = 0
    for mark in re.findall(f"[{_OPEN}{_CLOSE}]", text):
        depth += 1 if mark == _OPEN else -1
        if depth not in (0, 1):
            return False
    return depth == 0


def _mark(value: Any) -> str:
    """Jinja's ``finalize``: each expression's output, marked as outside text unless it is the
    profile's own or already holds marked parts (a shared passage)."""
    text = str(value)
    if not text or isinstance(value, Own):
        return text
    if _OPEN in text or _CLOSE in text:
        if _balanced(text):
            return text  # a passage rendered with its own marks
        text = text.replace(_OPEN, "").replace(_CLOSE, "")  # a cut passage: outside as a whole
    return f"{_OPEN}{text}{_CLOSE}"


_marking = SandboxedEnvironment(
    undefined=StrictUndefined,
    keep_trailing_newline=False,
    autoescape=False,
    trim_blocks=True,
    lstrip_blocks=True,
    finalize=_mark,
)


@lru_cache(maxsize=512)
def _compiled(template: str) -> Any:
    return _marking.from_string(template)


def unmark(marked: str) -> Shown:
    """The text without its marks, and where the marked spans were."""
    text, spans, start = [], [], None
    length = 0
    for piece in re.split(f"([{_OPEN}{_CLOSE}])", marked):
        if piece == _OPEN:
            start = length
        elif piece == _CLOSE:
            if start is not None and start < length:
                spans.append((start, length))
            start = None
        else:
            text.append(piece)
            length += len(piece)
    if start is not None and start < length:
        spans.append((start, length))
    return Shown("".join(text), tuple(spans))


def strip(shown: Shown) -> Shown:
    """``shown`` without leading and trailing whitespace, its spans moved along."""
    text = shown.text.strip()
    if not text:
        return Shown("")
    lead = len(shown.text) - len(shown.text.lstrip())
    end = lead + len(text)
    spans = tuple((max(s, lead) - lead, min(e, end) - lead) for s, e in shown.outside if s < end and e > lead)
    return Shown(text, spans)


def remark(shown: Shown) -> str:
    """``shown`` as marked text again (for a passage shown inside another template)."""
    pieces, last = [], 0
    for start, end in shown.outside:
        pieces += [shown.text[last:start], _OPEN, shown.text[start:end], _CLOSE]
        last = end
    pieces.append(shown.text[last:])
    return "".join(pieces)


def render_shown(template: str, variables: Mapping[str, Any]) -> Shown:
    """``template`` rendered (stripped) with ``variables``, and the spans of it that came from outside."""
    return strip(unmark(str(_compiled(template).render(clean(dict(variables))))))
