"""The embedded model's critic: verdicts read from log-probabilities of fixed text, not generated.

A 135M model asked for "Feedback: ... Score: N" gives almost every draft the same digit. What it can
tell apart is how likely a piece of text becomes once it has read another, and how ready it is to say
Yes to a short check:

- stage 1 (principles): PMI, the mean log-probability per token of the principles given this request
  minus the same given no request (principles written for this request, not for any);
- a response (spri.models.embedded.answers): correctness, from the model's Yes/No to checks of the
  response as an answer to the request and the surprise of its tokens given the request; where it
  follows principles, plus their coverage (how much more likely each principle becomes once the
  model has read the response), and a response that covers them less than an empty one is capped at 3;
  the feedback names the least-covered principles. A judgment of a given response reads the same.

Cheap text checks (nonsense, copying the request, the principles or what the writer was shown,
principles restated as instructions, repetition, meta text, truncation, duplicate items) cap the score
and add a feedback sentence each. Bands map the reading to 1..5; ``expected_score`` is the same
reading on a continuous 1..5 scale (capped like the score), the score its value rounded. Weights and
bands were set on the tuning part of our labelled set (tests/data/embedded_labelled.jsonl, split
"tuning"); its held-out part is for measuring them.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from spri.models.embedded.answers import AnswerParts, AnswerReader
from spri.models.embedded.copying import copies, restates
from spri.models.embedded.scoring import Scorer, chatml
from spri.models.embedded.subject import Subject
from spri.models.embedded.text import META, ends_sentence, items, near_duplicates, repetition, share_in, words
from spri.state import Critique

RESPONSE_BANDS = (-1.5, -0.26, 0.22, 0.63)
"""Correctness plus the principles' coverage of a response from which it scores 2, 3, 4, 5."""
ANSWER_BANDS = (-1.19, -0.52, 0.08, 0.69)
"""Correctness of a response judged without principles from which it scores 2, 3, 4, 5."""
PRINCIPLE_BANDS = (0.0, 0.10, 0.20, 0.50)
"""Principles' PMI (nats/token) from which they score 2, 3, 4, 5."""
SURPRISE_WEIGHT, FLUENCY_WEIGHT, COVERAGE_WEIGHT = 0.2, 0.25, 1.0
"""How much the surprise of an answer's tokens, their fluency and the principles' coverage count beside
its checks."""
NONSENSE = -5.5
"""Mean log-probability per token of a draft below which it is not language (own drafts: -1.2 to -2.3)."""
COPY, REPEATS, SHORT_WORDS = 0.5, 0.25, 15


@lru_cache(maxsize=1)
def prompts() -> dict[str, Any]:
    return tomllib.loads((Path(__file__).with_name("prompts.toml")).read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def feedback_sentences() -> tuple[str, ...]:
    """Every sentence the critic may write as feedback, and the notes a response is written with:
    text a draft must not repeat."""
    table = prompts()
    found: list[str] = [table["notes"]["system"].split("{notes}")[0], table["notes"]["emphasis"]]
    for entry in table["feedback"].values():
        found += list(entry.values()) if isinstance(entry, dict) else [entry]
    return tuple(text.strip() for text in found)


def _shown(subject: Subject) -> list[str]:
    return [subject.shown, *feedback_sentences()]


@dataclass
class Reading:
    """What the critic read: the contrast, its parts, and the checks that failed (name -> cap)."""

    value: float
    bands: tuple[float, ...]
    parts: list[float] = field(default_factory=list)
    fluency: float = 0.0
    failed: dict[str, int] = field(default_factory=dict)
    answer: AnswerParts | None = None
    """A response's parts: its checks, their baseline and its surprise."""

    def expected(self) -> float:
        capped = min([_continuous(self.value, self.bands), *[float(c) for c in self.failed.values()]])
        return round(capped, 4)


def _continuous(value: float, bounds: tuple[float, ...]) -> float:
    """``value`` on a 1..5 scale: band k (score k+1) spans [k+0.5, k+1.5), linear inside the band."""
    k = sum(value >= b for b in bounds)
    if k == 0:
        low, high = bounds[0] - (bounds[1] - bounds[0]), bounds[0]
    elif k == len(bounds):
        low, high = bounds[-1], bounds[-1] + (bounds[-1] - bounds[-2])
    else:
        low, high = bounds[k - 1], bounds[k]
    fraction = min(max((value - low) / (high - low), 0.0), 0.999)
    return min(max(k + 0.5 + fraction, 1.0), 5.0)


def principles_pmi(scorer: Scorer, request: str, draft: str) -> tuple[float, float]:
    """(PMI of the principles given the request, their mean log-probability given no request)."""
    table = prompts()["principles"]
    means = []
    for user in (table["conditional"].replace("{request}", request), table["unconditional"]):
        prefix = scorer.tokens(chatml([("system", table["system"]), ("user", user)]), special=True)
        tokens = prefix + scorer.tokens(draft)
        means.append(scorer.logprobs(tokens, [(len(prefix), len(tokens))])[0])
    return means[0] - means[1], means[1]


def text_checks(subject: Subject, draft: str, fluency: float, *, own: bool) -> dict[str, int]:
    """The checks a response fails, each with the score it caps at. ``own``: a draft of ours (not a
    given response being judged), also checked for talk about principles/feedback."""
    failed: dict[str, int] = {}
    # a judgment's input shows the response judged too: only its request counts for copying
    request = subject.query if subject.judged is not None and subject.query else subject.request
    checks: list[tuple[str, bool, int]] = [
        ("nonsense", fluency < NONSENSE, 1),
        ("copies_request", share_in(draft, request) >= COPY, 2),
        ("copies_principles", bool(subject.principles) and share_in(draft, subject.principles or "") >= COPY, 2),
        ("copies_shown", own and copies(draft, _shown(subject)), 2),
        ("restates_principles", bool(subject.principles) and restates(draft, subject.principles or ""), 3),
        ("repeats", repetition(draft) >= REPEATS, 2),
        ("meta", own and bool(META.search(draft)), 2),
        ("truncated", not ends_sentence(draft), 3),
        ("short", len(words(draft)) < SHORT_WORDS, 3),
    ]
    for name, failing, cap in checks:
        if failing:
            failed[name] = cap
    return failed


def principle_checks(subject: Subject, draft: str, fluency: float) -> dict[str, int]:
    listed = items(draft)
    checks: list[tuple[str, bool, int]] = [
        ("nonsense", fluency < NONSENSE, 1),
        ("duplicate_items", near_duplicates(listed) > 0, 2),
        ("copies_request", share_in(draft, subject.request) >= COPY, 2),
        ("copies_shown", copies(draft, _shown(subject)), 2),
        ("item_count", not 3 <= len(listed) <= 6, 3),
    ]
    return {name: cap for name, failing, cap in checks if failing}


class LocalCritic:
    """Verdicts for one slot's context (the caller holds the slot's lock)."""

    def __init__(self, llm: Any) -> None:
        self.scorer = Scorer(llm)
        self.answers = AnswerReader(self.scorer, prompts()["answer"])

    def read(self, subject: Subject) -> tuple[Reading, str]:
        """What the critic reads from a draft (or, in a judgment, from the response judged), and which
        kind of reading it is: 'principles', 'critique' (a response with principles) or 'answer'."""
        if subject.judged is not None:
            return self._answer(subject, subject.judged, own=False), "answer"
        draft = subject.draft or ""
        if subject.stage == "principles":
            pmi, fluency = principles_pmi(self.scorer, subject.request, draft)
            failed = principle_checks(subject, draft, fluency)
            return Reading(pmi, PRINCIPLE_BANDS, fluency=fluency, failed=failed), "principles"
        listed = items(subject.principles or "")
        if not listed:
            return self._answer(subject, draft, own=True), "answer"
        parts = self.answers.read(subject.query or subject.request, draft, listed)
        coverage = sum(parts.coverage) / len(parts.coverage)
        value = parts.correctness(SURPRISE_WEIGHT, FLUENCY_WEIGHT) + COVERAGE_WEIGHT * coverage
        failed = text_checks(subject, draft, parts.fluency, own=True)
        if coverage < 0:
            failed["ignores_principles"] = 3
        return Reading(value, RESPONSE_BANDS, parts.coverage, parts.fluency, failed, parts), "critique"

    def _answer(self, subject: Subject, draft: str, *, own: bool) -> Reading:
        parts = self.answers.read(subject.query or subject.request, draft)
        failed = text_checks(subject, draft, parts.fluency, own=own)
        return Reading(
            parts.correctness(SURPRISE_WEIGHT, FLUENCY_WEIGHT), ANSWER_BANDS, [], parts.fluency, failed, parts
        )

    def verdict(self, subject: Subject) -> Critique:
        reading, kind = self.read(subject)
        expected = reading.expected()
        score = int(expected + 0.5)
        if subject.judged is not None:
            feedback = judgment_feedback(reading, score)
        else:
            feedback = critique_feedback(reading, kind, score, items(subject.principles or ""))
        read: dict[str, Any] = {
            "reading": kind,
            "value": round(reading.value, 4),
            "parts": [round(p, 4) for p in reading.parts],
            "fluency": round(reading.fluency, 3),
            "failed": sorted(reading.failed),
        }
        if reading.answer is not None:
            read["checks"] = [round(c, 3) for c in reading.answer.checks]
            read["baseline"] = [round(c, 3) for c in reading.answer.baseline]
            read["surprise"] = round(reading.answer.surprise, 3)
        raw = json.dumps(read)
        return Critique(score=score, feedback=feedback, raw=raw, expected_score=expected, sampled_score=score)


def _sentences(failed: dict[str, int], *, fix: bool) -> list[str]:
    table = prompts()["feedback"]
    return [f"{table[name]['what']} {table[name]['fix']}" if fix else table[name]["what"] for name in failed]


def critique_feedback(reading: Reading, kind: str, score: int, principles: list[str]) -> str:
    """The checks' sentences, then, for a response below 4, the one (score 3) or two least-covered
    principles to apply; a draft at 4 or more is told to stay as it is."""
    table = prompts()["feedback"]
    sentences = _sentences(reading.failed, fix=True)
    if kind == "critique" and score <= 3 and reading.answer is not None and _doubtful(reading.answer):
        sentences.append(table["doubtful"])
    if kind == "critique" and score <= 3 and reading.parts:
        order = sorted(range(len(reading.parts)), key=lambda k: reading.parts[k])[: 1 if score == 3 else 2]
        weakest = " and ".join(f'principle {k + 1} ("{principles[k]}")' for k in sorted(order))
        sentences.append(table["apply"].replace("{weakest}", weakest))
    if kind == "principles" and score <= 3 and not sentences:
        sentences.append(table["generic"])
    if not sentences:
        sentences.append(table["keep_principles" if kind == "principles" else "keep_response"])
    return " ".join(sentences)


def _doubtful(answer: AnswerParts) -> bool:
    """Whether the response, read as an answer alone, would score 3 or less: it may be wrong or unsafe."""
    return answer.correctness(SURPRISE_WEIGHT, FLUENCY_WEIGHT) < ANSWER_BANDS[2]


def judgment_feedback(reading: Reading, score: int) -> str:
    table = prompts()["feedback"]
    sentences = _sentences(reading.failed, fix=False)
    if not sentences:
        sentences.append(table["good_judgment"] if score >= 4 else table["weak_judgment"])
    return " ".join(sentences)
