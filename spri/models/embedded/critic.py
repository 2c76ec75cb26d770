"""The embedded model's critic: verdicts read from log-probabilities of fixed text, not generated.

A 135M model asked for "Feedback: ... Score: N" gives almost every draft the same digit. What it can
tell apart is how likely a piece of text becomes once it has read another:

- stage 1 (principles): PMI, the mean log-probability per token of the principles given this request
  minus the same given no request (principles written for this request, not for any);
- stage 2 (response): principle coverage, for each principle the mean log-probability per token of
  the principle after the request and the response minus the same with the response "(none)"; the
  score reads the mean over principles, the feedback names the least-covered ones;
- a response judged without principles (and a judgment draft of a given response): relevance, the
  same contrast for the request itself ("which request does this response answer?").

Cheap text checks (nonsense, copying, repetition, meta text, truncation, duplicate items) cap the score
and add a feedback sentence each. Bands map the contrast to 1..5; ``expected_score`` is the same
contrast on a continuous 1..5 scale (capped like the score), the score its value rounded.
Thresholds were set on our labelled set (tests/data/embedded_labelled.jsonl).
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from spri.models.embedded.scoring import Scorer, chatml
from spri.models.embedded.subject import Subject
from spri.models.embedded.text import META, ends_sentence, items, near_duplicates, repetition, share_in, words
from spri.state import Critique

RESPONSE_BANDS = (0.0, 0.10, 0.22, 0.60)
"""Mean principle coverage (nats/token) from which a response scores 2, 3, 4, 5."""
PRINCIPLE_BANDS = (0.0, 0.10, 0.20, 0.50)
"""Principles' PMI (nats/token) from which they score 2, 3, 4, 5."""
RELEVANCE_BANDS = (0.0, 0.15, 0.35, 0.70)
"""Relevance of a response judged without principles (nats/token) from which it scores 2, 3, 4, 5."""
NONSENSE = -5.5
"""Mean log-probability per token of a draft below which it is not language (own drafts: -1.2 to -2.3)."""
COPY, REPEATS, SHORT_WORDS = 0.5, 0.25, 15


@lru_cache(maxsize=1)
def prompts() -> dict[str, Any]:
    return tomllib.loads((Path(__file__).with_name("prompts.toml")).read_text(encoding="utf-8"))


@dataclass
class Reading:
    """What the critic read: the contrast, its parts, and the checks that failed (name -> cap)."""

    value: float
    bands: tuple[float, ...]
    parts: list[float] = field(default_factory=list)
    fluency: float = 0.0
    failed: dict[str, int] = field(default_factory=dict)

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


class Contrast:
    """log P(targets | request, draft) - log P(targets | request, "(none)") per target, sharing the
    prompt up to the targets as a KV prefix; the "(none)" side is cached per (prompt, targets)."""

    def __init__(self, scorer: Scorer, table: dict[str, str]) -> None:
        self.scorer, self.table = scorer, table
        self.baselines: dict[tuple[str, tuple[str, ...]], list[float]] = {}

    def _side(self, request: str, draft: str, targets: list[str], with_fluency: bool) -> tuple[list[float], float]:
        before, after = self.table["user"].split("{draft}")
        head = self.scorer.tokens(chatml([("system", self.table["system"])], open_assistant=False), special=True)
        head += self.scorer.tokens("<|im_start|>user\n" + before.replace("{request}", request), special=True)
        body = self.scorer.tokens(draft)
        prefix = head + body + self.scorer.tokens(after + "<|im_end|>\n<|im_start|>assistant\n", special=True)
        values, fluency = [], 0.0
        for index, target in enumerate(targets):
            tokens = prefix + self.scorer.tokens(target)
            spans = [(len(prefix), len(tokens))]
            if with_fluency and index == 0:
                spans.append((len(head), len(head) + len(body)))
            means = self.scorer.logprobs(tokens, spans)
            values.append(means[0])
            if len(means) > 1:
                fluency = means[1]
        return values, fluency

    def __call__(self, request: str, draft: str, targets: list[str]) -> tuple[list[float], float]:
        key = (request, tuple(targets))
        if key not in self.baselines:
            self.baselines[key] = self._side(request, self.table["empty"], targets, False)[0]
        values, fluency = self._side(request, draft, targets, True)
        return [v - b for v, b in zip(values, self.baselines[key], strict=True)], fluency


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
        ("item_count", not 3 <= len(listed) <= 6, 3),
    ]
    return {name: cap for name, failing, cap in checks if failing}


class LocalCritic:
    """Verdicts for one slot's context (the caller holds the slot's lock)."""

    def __init__(self, llm: Any) -> None:
        self.scorer = Scorer(llm)
        self.coverage = Contrast(self.scorer, prompts()["coverage"])
        self.relevance = Contrast(self.scorer, prompts()["relevance"])

    def read(self, subject: Subject) -> tuple[Reading, str]:
        """What the critic reads from a draft (or, in a judgment, from the response judged), and which
        kind of reading it is: 'principles', 'coverage' or 'relevance'."""
        if subject.judged is not None:
            return self._relevance(subject, subject.judged, own=False), "relevance"
        draft = subject.draft or ""
        if subject.stage == "principles":
            pmi, fluency = principles_pmi(self.scorer, subject.request, draft)
            failed = principle_checks(subject, draft, fluency)
            return Reading(pmi, PRINCIPLE_BANDS, fluency=fluency, failed=failed), "principles"
        listed = items(subject.principles or "")
        if not listed:
            return self._relevance(subject, draft, own=True), "relevance"
        parts, fluency = self.coverage(subject.request, draft, listed)
        failed = text_checks(subject, draft, fluency, own=True)
        return Reading(sum(parts) / len(parts), RESPONSE_BANDS, parts, fluency, failed), "coverage"

    def _relevance(self, subject: Subject, draft: str, *, own: bool) -> Reading:
        parts, fluency = self.relevance("", draft, [subject.query or subject.request])
        return Reading(parts[0], RELEVANCE_BANDS, parts, fluency, text_checks(subject, draft, fluency, own=own))

    def verdict(self, subject: Subject) -> Critique:
        reading, kind = self.read(subject)
        expected = reading.expected()
        score = int(expected + 0.5)
        if subject.judged is not None:
            feedback = judgment_feedback(reading, score)
        else:
            feedback = critique_feedback(reading, kind, score, items(subject.principles or ""))
        raw = json.dumps(
            {
                "reading": kind,
                "value": round(reading.value, 4),
                "parts": [round(p, 4) for p in reading.parts],
                "fluency": round(reading.fluency, 3),
                "failed": sorted(reading.failed),
            }
        )
        return Critique(score=score, feedback=feedback, raw=raw, expected_score=expected, sampled_score=score)


def _sentences(failed: dict[str, int], *, fix: bool) -> list[str]:
    table = prompts()["feedback"]
    return [f"{table[name]['what']} {table[name]['fix']}" if fix else table[name]["what"] for name in failed]


def critique_feedback(reading: Reading, kind: str, score: int, principles: list[str]) -> str:
    """The checks' sentences, then, for a response below 4, the one (score 3) or two least-covered
    principles to apply; a draft at 4 or more is told to stay as it is."""
    table = prompts()["feedback"]
    sentences = _sentences(reading.failed, fix=True)
    if kind == "coverage" and score <= 3 and reading.parts:
        order = sorted(range(len(reading.parts)), key=lambda k: reading.parts[k])[: 1 if score == 3 else 2]
        weakest = " and ".join(f'principle {k + 1} ("{principles[k]}")' for k in sorted(order))
        sentences.append(table["apply"].replace("{weakest}", weakest))
    if kind == "principles" and score <= 3 and not sentences:
        sentences.append(table["generic"])
    if not sentences:
        sentences.append(table["keep_principles" if kind == "principles" else "keep_response"])
    return " ".join(sentences)


def judgment_feedback(reading: Reading, score: int) -> str:
    table = prompts()["feedback"]
    sentences = _sentences(reading.failed, fix=False)
    if not sentences:
        sentences.append(table["good_judgment"] if score >= 4 else table["weak_judgment"])
    return " ".join(sentences)
