"""Reading a score and feedback out of a critic's free text.

The score is the critic's *final* score marker (critics often quote a scale or an earlier verdict
before their own), read in the forms the reading allows (:data:`FORMS`, by name). It counts only if it
is the critic's own: a marker (its form and value, e.g. ``Score: 5`` or ``[RESULT] 5``) that the prompt
showed from outside (:class:`spri.state.rendering.Shown`: input fields, principles, seed examples, a
draft, as the templates displayed them after slicing and joining, a marker formed across a boundary
included) may be a quote, so then the verdict has no score. One occurrence shown is enough, however often
the critic repeats it, and an earlier marker never stands in for a doubtful final one: text planted in the
input can make a verdict unreadable, but it can never add a score or change one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import NamedTuple

from spri.state import Critique
from spri.state.rendering import Shown

_NUMBER = r"(?P<num>\d{1,3}(?:\.\d+)?)(?:\s*(?:/|out\s+of)\s*(?P<den>\d{1,3}))?"

FORMS: dict[str, re.Pattern[str]] = {
    # [RESULT] 4 / [RESULT]: 4   (Prometheus style)
    "result": re.compile(r"\[\s*RESULT\s*\]\s*[:=\-]?\s*\**\s*" + _NUMBER, re.IGNORECASE),
    # Score: 4 / **Score:** 4 / Final score - 4/5 / Rating = 4 / score of 4
    "score": re.compile(
        r"\b(?:final\s+)?(?:score|rating|grade)\b\**\s*(?:[:=\-]|\bis\b|\bof\b)\s*\**\s*\[?\s*" + _NUMBER,
        re.IGNORECASE,
    ),
    # <score>4</score> / <score>[4.5]</score>
    "tag": re.compile(r"<score>\s*\[?\s*" + _NUMBER + r"\s*\]?\s*</score>", re.IGNORECASE),
    # "score": 4   (JSON-ish)
    "json": re.compile(r"[\"']score[\"']\s*:\s*[\"']?" + _NUMBER, re.IGNORECASE),
}
"""Score marker forms by name. A form is a pattern with a ``num`` group (and an optional ``den``,
the scale's top, which must be 5); a profile's own forms can be added here and asked for by name."""

DEFAULT_FORMS: tuple[str, ...] = tuple(FORMS)
"""The forms a verdict is read in unless the reading names others."""

_FEEDBACK_PREFIX = re.compile(r"^\s*\**\s*(?:feedback|critique|rationale|assessment)\s*\**\s*[:\-]\s*", re.I)
_FEEDBACK_TAG = re.compile(r"<feedback>\s*\[?(.*?)\]?\s*</feedback>", re.I | re.S)


class Marker(NamedTuple):
    """One score marker in a text: where it is, which form it is, and the score it states."""

    start: int
    end: int
    kind: str
    score: int | float | None

    @property
    def key(self) -> tuple[str, int | float | None]:
        """What makes two markers the same claim (``Score: 5`` and ``score - 5`` are)."""
        return self.kind, self.score


def to_score(num: str, den: str | None, decimals: bool = False) -> int | float | None:
    """A marker's number as a score 1-5 (None if out of range or not out of 5): rounded to a whole
    number, or kept as written when ``decimals`` (an integral value stays an int either way)."""
    if den is not None and int(den) != 5:
        return None
    value = float(num)
    if not 1.0 <= value <= 5.0:
        return None
    if decimals and not value.is_integer():
        return value
    return int(value + 0.5)


def markers(text: str, decimals: bool = False, forms: Sequence[str] = DEFAULT_FORMS) -> list[Marker]:
    """Every score marker of the given forms in ``text``, in order; a match overlapping an earlier one
    is left out."""
    found = sorted((match.start(), -match.end(), kind, match) for kind in forms for match in FORMS[kind].finditer(text))
    kept: list[Marker] = []
    for start, neg_end, kind, match in found:
        if kept and start < kept[-1].end:
            continue
        kept.append(Marker(start, -neg_end, kind, to_score(match["num"], match["den"], decimals)))
    return kept


def shown_claims(shown: Shown | str, decimals: bool = False, forms: Sequence[str] = DEFAULT_FORMS) -> set[tuple]:
    """The claims (form and value) of every marker the prompt showed that holds a character from outside.
    A plain string counts as outside text as a whole."""
    shown = Shown.of(shown) if isinstance(shown, str) else shown
    return {m.key for m in markers(shown.text, decimals, forms) if shown.touches_outside(m.start, m.end)}


def parse_critique(
    text: str, shown: Shown | str = "", *, decimals: bool = False, forms: Sequence[str] = DEFAULT_FORMS
) -> Critique:
    """A critique from free text: the final score marker's value if it is the critic's own (1..5, or
    None) and the feedback. ``shown`` is what the critic was shown, with the spans that came from
    outside (a plain string: all outside); ``decimals`` keeps a score such as 4.5 (else it is rounded);
    ``forms`` names the marker forms read."""
    text = text if isinstance(text, str) else str(text)
    found = markers(text, decimals, forms)
    if not found:
        return Critique(score=None, feedback=_clean_feedback(text), raw=text)
    final = found[-1]
    if final.key in shown_claims(shown, decimals, forms):
        return Critique(score=None, feedback=_clean_feedback(text), raw=text)  # may be a quote
    feedback = _clean_feedback(text[: final.start]) or _clean_feedback(text[final.end :])
    return Critique(score=final.score, feedback=feedback, raw=text, sampled_score=final.score)


def _clean_feedback(text: str) -> str:
    tagged = _FEEDBACK_TAG.search(text)
    if tagged:
        text = tagged.group(1)
    return _FEEDBACK_PREFIX.sub("", text.strip()).strip().rstrip("*").strip()
