"""Reading a score and feedback out of a critic's free text.

The score is the critic's *final* score marker (critics often quote a scale or an earlier verdict
before their own). It counts only if it is the critic's own: a marker (its kind and value, e.g.
``Score: 5`` or ``[RESULT] 5``) that occurs at least as often in what the critic was shown (the input,
the principles, a draft) as in the critic's reply may be a quote, so then the verdict has no score.
Occurrences are compared, not lines, and an earlier marker never stands in for a doubtful final one:
text planted in the input can make a verdict unreadable, but it can never add a score or change one.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import NamedTuple

from spri.state import Critique

_NUMBER = r"(?P<num>\d{1,3}(?:\.\d+)?)(?:\s*(?:/|out\s+of)\s*(?P<den>\d{1,3}))?"

_MARKERS = [
    # [RESULT] 4 / [RESULT]: 4   (Prometheus style)
    re.compile(r"\[\s*RESULT\s*\]\s*[:=\-]?\s*\**\s*" + _NUMBER, re.IGNORECASE),
    # Score: 4 / **Score:** 4 / Final score - 4/5 / Rating = 4 / score of 4
    re.compile(
        r"\b(?:final\s+)?(?:score|rating|grade)\b\**\s*(?:[:=\-]|\bis\b|\bof\b)\s*\**\s*\[?\s*" + _NUMBER,
        re.IGNORECASE,
    ),
    # <score>4</score> / <score>[4.5]</score>
    re.compile(r"<score>\s*\[?\s*" + _NUMBER + r"\s*\]?\s*</score>", re.IGNORECASE),
    # "score": 4   (JSON-ish)
    re.compile(r"[\"']score[\"']\s*:\s*[\"']?" + _NUMBER, re.IGNORECASE),
]

_FEEDBACK_PREFIX = re.compile(r"^\s*\**\s*(?:feedback|critique|rationale|assessment)\s*\**\s*[:\-]\s*", re.I)
_FEEDBACK_TAG = re.compile(r"<feedback>\s*\[?(.*?)\]?\s*</feedback>", re.I | re.S)


class Marker(NamedTuple):
    """One score marker in a text: where it is, which kind it is, and the score it states."""

    start: int
    end: int
    kind: int
    score: int | float | None

    @property
    def key(self) -> tuple[int, int | float | None]:
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


def markers(text: str, decimals: bool = False) -> list[Marker]:
    """Every score marker in ``text``, in order; a match overlapping an earlier one is left out."""
    found = sorted(
        (match.start(), -match.end(), kind, match)
        for kind, pattern in enumerate(_MARKERS)
        for match in pattern.finditer(text)
    )
    kept: list[Marker] = []
    for start, neg_end, kind, match in found:
        if kept and start < kept[-1].end:
            continue
        kept.append(Marker(start, -neg_end, kind, to_score(match["num"], match["den"], decimals)))
    return kept


def parse_critique(text: str, shown: str = "", *, decimals: bool = False) -> Critique:
    """A critique from free text: the final score marker's value if it is the critic's own (1..5, or
    None) and the feedback. ``shown`` is the outside text the critic was shown; ``decimals`` keeps a
    score such as 4.5 (else it is rounded)."""
    text = text if isinstance(text, str) else str(text)
    found = markers(text, decimals)
    if not found:
        return Critique(score=None, feedback=_clean_feedback(text), raw=text)
    final = found[-1]
    if shown and _occurrences(found, final) <= _occurrences(markers(shown, decimals), final):
        return Critique(score=None, feedback=_clean_feedback(text), raw=text)  # may be a quote
    feedback = _clean_feedback(text[: final.start]) or _clean_feedback(text[final.end :])
    return Critique(score=final.score, feedback=feedback, raw=text, sampled_score=final.score)


def _occurrences(found: list[Marker], marker: Marker) -> int:
    return Counter(m.key for m in found)[marker.key]


def _clean_feedback(text: str) -> str:
    tagged = _FEEDBACK_TAG.search(text)
    if tagged:
        text = tagged.group(1)
    return _FEEDBACK_PREFIX.sub("", text.strip()).strip().rstrip("*").strip()
