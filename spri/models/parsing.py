"""Reading a score and feedback out of a critic's free text.

The score is the critic's *final* score marker (critics often quote a scale or an earlier verdict
before their own), read in the forms the reading allows (:data:`FORMS`, by name); or, for the paper's
parsers (``first``), the first marker in their order of preference: every marker of the first form,
then of the next. Either way it counts only if it is the critic's own: a marker (its form and value,
e.g. ``Score: 5`` or ``[RESULT] 5``) that the prompt showed from outside
(:class:`spri.state.rendering.Shown`: input fields, principles, seed examples, a draft, as the templates
displayed them after slicing and joining, a marker formed across a boundary included) may be a quote,
so then the verdict has no score. One occurrence shown is enough, however often the critic repeats it,
and an earlier marker never stands in for a doubtful final one (the paper's parsers pass over a marker
that was shown, to the next one they would try, which is then the critic's own): text
planted in the input can make a verdict unreadable, but it can never add a score or change one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
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

_DIGIT = r"(?P<num>[1-5])"
FORMS.update(
    {
        # The paper's critic parser, in its order of preference: one digit each (so "[RESULT] 3.5" reads
        # 3), case as written; "[RESULT]: 4" is none of them.
        "paper-result": re.compile(r"\[RESULT\]\s*" + _DIGIT),
        "paper-score": re.compile(r"\[SCORE\]\s*" + _DIGIT),
        "paper-score-bracket": re.compile(r"\[Score:\s*" + _DIGIT + r"\]"),
        "paper-last-paragraph": re.compile(r"\n\n\[" + _DIGIT + r"\]\Z"),
        "paper-overall": re.compile(r"\n\nOverall Score:\s*" + _DIGIT),
        "paper-last": re.compile(r"\[" + _DIGIT + r"\]\Z"),
        # The paper's Table 4 self-refine: "RESULT:" (brackets optional, the colon required), one digit.
        "paper-self-refine": re.compile(r"\[?RESULT\]?:\s*" + _DIGIT),
        # The paper's Table 2 judges: <score>N</score>, 1 to 5 with decimals, in optional brackets.
        "paper-tag": re.compile(r"<score>\[?(?P<num>[1-4](?:\.\d+)?|5(?:\.0)?)\]?</score>"),
    }
)

_BRACKETED = re.compile(r"\[\s*" + _DIGIT + r"\s*\]")
QUOTED: dict[str, re.Pattern[str]] = {
    "paper-last-paragraph": _BRACKETED,
    "paper-last": _BRACKETED,
    "paper-overall": re.compile(r"Overall\s+Score\s*:\s*" + _DIGIT, re.IGNORECASE),
    **{
        kind: re.compile(FORMS[kind].pattern, re.IGNORECASE)
        for kind in ("paper-result", "paper-score", "paper-score-bracket", "paper-self-refine", "paper-tag")
    },
}
"""How a marker of a form that depends on where it stands (the end of the text, a blank line before it)
or on case looks wherever a prompt shows it: a prompt that shows ``[4]`` anywhere from outside may be
quoted as a final ``[4]``. Forms not listed are found in prompts as they are read."""

PAPER_CRITIC: tuple[str, ...] = (
    "paper-result",
    "paper-score",
    "paper-score-bracket",
    "paper-last-paragraph",
    "paper-overall",
    "paper-last",
)
"""The paper's critic parser: these forms, in this order of preference."""


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
        kept.append(Marker(start, -neg_end, kind, to_score(match["num"], match.groupdict().get("den"), decimals)))
    return kept


def shown_claims(shown: Shown | str, decimals: bool = False, forms: Sequence[str] = DEFAULT_FORMS) -> set[tuple]:
    """The claims (form and value) of every marker the prompt showed that holds a character from outside.
    A plain string counts as outside text as a whole."""
    shown = Shown.of(shown) if isinstance(shown, str) else shown
    return {m.key for m in markers(shown.text, decimals, forms) if shown.touches_outside(m.start, m.end)}


def quoted_claims(shown: Shown | str, decimals: bool = False, forms: Sequence[str] = DEFAULT_FORMS) -> set[tuple]:
    """Like :func:`shown_claims`, each form found on its own (overlaps kept) and as it looks wherever it
    stands (:data:`QUOTED`): the claims a first-marker reading must pass over."""
    shown = Shown.of(shown) if isinstance(shown, str) else shown
    return {
        (kind, to_score(match["num"], match.groupdict().get("den"), decimals))
        for kind in forms
        for match in QUOTED.get(kind, FORMS[kind]).finditer(shown.text)
        if shown.touches_outside(match.start(), match.end())
    }


def _first_own(text: str, claims: set[tuple], decimals: bool, forms: Sequence[str]) -> Marker | None:
    """The paper's parsers: the first marker of the first form that has one, passing over a marker the
    prompt showed from outside (the next one tried is then the critic's own or none)."""
    for kind in forms:
        for match in FORMS[kind].finditer(text):
            marker = Marker(
                match.start(), match.end(), kind, to_score(match["num"], match.groupdict().get("den"), decimals)
            )
            if marker.score is not None and marker.key not in claims:
                return marker
    return None


def _clean_around(text: str, marker: Marker | None) -> str:
    if marker is None:
        return _clean_feedback(text)
    return _clean_feedback(text[: marker.start]) or _clean_feedback(text[marker.end :])


FEEDBACK: dict[str, Callable[[str, Marker | None], str]] = {
    "clean": _clean_around,
    "before-result": lambda text, marker: text.split("[RESULT]")[0].strip(),
    "whole": lambda text, marker: text.strip(),
}
"""How the feedback is taken from a verdict, by name: 'clean' (the text before the score marker, or after
it, without a "Feedback:" label or <feedback> tags), 'before-result' (everything before the first
"[RESULT]", as the paper passes a critique on to the refiner), 'whole' (the verdict as written, as the
paper's Table 4 self-refine passes its self-critique on)."""


def parse_critique(
    text: str,
    shown: Shown | str = "",
    *,
    decimals: bool = False,
    forms: Sequence[str] = DEFAULT_FORMS,
    first: bool = False,
    feedback: str = "clean",
) -> Critique:
    """A critique from free text: the final score marker's value if it is the critic's own (1..5, or
    None) and the feedback. ``shown`` is what the critic was shown, with the spans that came from
    outside (a plain string: all outside); ``decimals`` keeps a score such as 4.5 (else it is rounded);
    ``forms`` names the marker forms read; ``first`` reads the first marker in the order of ``forms``
    instead of the final one (the paper's parsers); ``feedback`` names how the feedback is taken
    (:data:`FEEDBACK`)."""
    text = text if isinstance(text, str) else str(text)
    if first:
        chosen = _first_own(text, quoted_claims(shown, decimals, forms), decimals, forms)
    else:
        found = markers(text, decimals, forms)
        chosen = found[-1] if found else None
        if chosen is not None and chosen.key in shown_claims(shown, decimals, forms):
            chosen = None  # may be a quote
    take = FEEDBACK[feedback]
    if chosen is None:
        return Critique(score=None, feedback=take(text, None), raw=text)
    return Critique(score=chosen.score, feedback=take(text, chosen), raw=text, sampled_score=chosen.score)


def _clean_feedback(text: str) -> str:
    tagged = _FEEDBACK_TAG.search(text)
    if tagged:
        text = tagged.group(1)
    return _FEEDBACK_PREFIX.sub("", text.strip()).strip().rstrip("*").strip()
