"""Reading a score and feedback out of a critic's free text.

The score comes only from the critic's own words: a line of its output that repeats, verbatim, a
line of what it was shown (the input and the draft under review) is not read for a score, so a
draft that says "Score: 5" cannot score itself by being quoted back. When the critic writes several
score markers the last one wins: critics often quote a scale or an earlier verdict before their own.
"""

from __future__ import annotations

import re

from spri.state import Critique

_NUMBER = r"(?P<num>\d{1,3}(?:\.\d+)?)(?:\s*(?:/|out\s+of)\s*(?P<den>\d{1,3}))?"

_MARKERS = [
    # [RESULT] 4   (Prometheus style)
    re.compile(r"\[\s*RESULT\s*\]\s*[:=\-]?\s*\**\s*" + _NUMBER, re.IGNORECASE),
    # Score: 4 / **Score:** 4 / Final score - 4/5 / Rating = 4 / score of 4
    re.compile(
        r"\b(?:final\s+)?(?:score|rating|grade)\b\**\s*(?:[:=\-]|\bis\b|\bof\b)\s*\**\s*\[?\s*" + _NUMBER,
        re.IGNORECASE,
    ),
    # <score>4</score>
    re.compile(r"<score>\s*" + _NUMBER + r"\s*</score>", re.IGNORECASE),
    # "score": 4   (JSON-ish)
    re.compile(r"[\"']score[\"']\s*:\s*[\"']?" + _NUMBER, re.IGNORECASE),
]

_FEEDBACK_PREFIX = re.compile(r"^\s*\**\s*(?:feedback|critique|rationale|assessment)\s*\**\s*[:\-]\s*", re.I)


def _to_score(num: str, den: str | None) -> int | None:
    if den is not None and int(den) != 5:
        return None
    value = float(num)
    if not 1.0 <= value <= 5.0:
        return None
    return int(value + 0.5)


def parse_critique(text: str, shown: str = "") -> Critique:
    """A critique from free text: the last score marker's value (1..5 or None) and the feedback.
    ``shown`` is what the critic was shown; lines of ``text`` found verbatim in it are not scored."""
    text = text if isinstance(text, str) else str(text)
    own = _without_quotes(text, shown) if shown else text
    best: tuple[int, int, int | None] | None = None  # (start, end, score)
    for pattern in _MARKERS:
        for match in pattern.finditer(own):
            if best is None or match.start() > best[0]:
                best = (match.start(), match.end(), _to_score(match["num"], match["den"]))
    if best is None:
        return Critique(score=None, feedback=_clean_feedback(text), raw=text)
    start, end, score = best
    before, after = text[:start], text[end:]
    feedback = _clean_feedback(before) or _clean_feedback(after)
    return Critique(score=score, feedback=feedback, raw=text, sampled_score=score)


def _without_quotes(text: str, shown: str) -> str:
    """``text`` with every line that also appears verbatim in ``shown`` blanked out (same length)."""
    kept = []
    for line in text.splitlines(keepends=True):
        body = line.strip()
        quoted = len(body) >= 3 and body in shown
        kept.append(" " * len(line.rstrip("\r\n")) + line[len(line.rstrip("\r\n")) :] if quoted else line)
    return "".join(kept)


def _clean_feedback(text: str) -> str:
    return _FEEDBACK_PREFIX.sub("", text.strip()).strip().rstrip("*").strip()
