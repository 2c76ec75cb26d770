"""Whether a response is a right answer to its request, read from log-probabilities on one prompt.

The prompt shows the request and the response as a question and its answer. Read from it, sharing the
KV cache up to the end of the answer:

- checks: the model's Yes against No (log-probability difference) to short questions about the answer
  ("Is this answer correct?", "Is this advice safe to follow?"). A 135M model's Yes is more a general
  approval than knowledge, but it is lower for wrong facts, reversed advice and absurd steps than for
  the right answer to the same request. Their baseline, the same checks of the answer "(none)", is kept
  per request: how ready the model is to approve any answer to it.
- surprise: the mean of the lowest fifth of the answer's tokens' log-probabilities given the request,
  each less its log-probability at the start of a turn (a prior over the vocabulary, computed once):
  tokens the request makes unlikely that are not merely rare words.
- coverage, where the response follows principles: for each principle, the mean log-probability per
  token of the principle after "Name one guideline this answer follows.", less the same after the
  answer "(none)".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from spri.models.embedded.scoring import Scorer

SURPRISE_SHARE = 0.2
"""The share of the answer's least expected tokens whose mean is its surprise."""


@dataclass
class AnswerParts:
    """What was read from one answer."""

    checks: list[float]
    baseline: list[float]
    surprise: float
    fluency: float
    coverage: list[float] = field(default_factory=list)

    def correctness(self, surprise_weight: float, fluency_weight: float) -> float:
        """The checks, plus how far they rise above the request's baseline, plus weighted surprise and
        fluency (the mean log-probability of the answer's tokens given the request)."""
        raised = [c - b for c, b in zip(self.checks, self.baseline, strict=True)]
        readiness = np.mean(self.checks) + np.mean(raised)
        return float(readiness + surprise_weight * self.surprise + fluency_weight * self.fluency)


class AnswerReader:
    """Reads answers on one slot's context (the caller holds the slot's lock)."""

    def __init__(self, scorer: Scorer, table: dict[str, Any]) -> None:
        self.scorer, self.table = scorer, table
        self.yes, self.no = scorer.tokens("Yes")[0], scorer.tokens("No")[0]
        self.baselines: dict[tuple[str, tuple[str, ...]], tuple[list[float], list[list[float]]]] = {}
        self._prior: Any = None

    def prior(self) -> Any:
        """Log-probabilities of every token at the start of a user turn."""
        if self._prior is None:
            self._prior = self.scorer.next_logprobs(self.scorer.tokens(self.table["prior"], special=True))
        return self._prior

    def _prefix(self, request: str) -> list[int]:
        head = self.table["user"].split("{draft}")[0].replace("{request}", request)
        text = f"<|im_start|>system\n{self.table['system']}<|im_end|>\n<|im_start|>user\n{head}"
        return self.scorer.tokens(text, special=True)

    def _after(self, text: str) -> list[int]:
        return self.scorer.tokens(f"\n\n{text}<|im_end|>\n<|im_start|>assistant\n", special=True)

    def _branches(self, stem: list[int], targets: list[str]) -> tuple[list[float], list[list[float]]]:
        """The checks' Yes-No after ``stem``, and each target's token log-probabilities after the
        guideline question."""
        checks = []
        for check in self.table["checks"]:
            logprobs = self.scorer.next_logprobs(stem + self._after(check))
            checks.append(float(logprobs[self.yes] - logprobs[self.no]))
        lead = stem + self._after(self.table["guideline"])
        parts = []
        for target in targets:
            tokens = lead + self.scorer.tokens(target)
            parts.append(self.scorer.token_logprobs(tokens, [(len(lead), len(tokens))])[0])
        return checks, parts

    def read(self, request: str, answer: str, principles: list[str] | None = None) -> AnswerParts:
        prior = self.prior()
        targets = list(principles or [])
        prefix = self._prefix(request)
        key = (request, tuple(targets))
        if key not in self.baselines:
            self.baselines[key] = self._branches(prefix + self.scorer.tokens(self.table["empty"]), targets)
        baseline, empty = self.baselines[key]
        body = self.scorer.tokens(answer)
        stem = prefix + body
        given = np.array(self.scorer.token_logprobs(stem, [(len(prefix), len(stem))])[0])
        checks, parts = self._branches(stem, targets)
        lifted = np.sort(given - prior[body])
        surprise = float(lifted[: max(1, int(len(lifted) * SURPRISE_SHARE))].mean())
        coverage = [float(np.mean(p) - np.mean(e)) for p, e in zip(parts, empty, strict=True)]
        return AnswerParts(checks, baseline, surprise, float(given.mean()), coverage)
