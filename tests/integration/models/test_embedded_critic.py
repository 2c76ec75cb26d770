"""The embedded critic and drafts on the real embedded model (SmolLM2-135M), against the held-out part of
our labelled set (tests/data/embedded_labelled.jsonl, split "heldout"; the critic's weights and bands were
set on its "tuning" part, which no test reads): ranking of good/bad pairs (wrong facts, reversed advice,
absurd steps, off-topic and copied answers), calibration against the default min_score, and clean
principles and responses end to end on held-out queries."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("llama_cpp", reason="the embedded model needs llama-cpp-python (make test installs it)")

from spri import arun
from spri.models.embedded.chat_model import LocalChatModel
from spri.models.embedded.subject import Subject
from spri.models.embedded.text import META, ends_sentence, items, near_duplicates, share_in
from spri.state import Critique, Usage

pytestmark = [pytest.mark.embedded, pytest.mark.timeout(1800)]

LABELLED = Path(__file__).resolve().parents[2] / "data" / "embedded_labelled.jsonl"
ROWS = [json.loads(line) for line in LABELLED.read_text(encoding="utf-8").splitlines() if line.strip()]
HELDOUT_ROWS = [r for r in ROWS if r["split"] == "heldout"]
RESPONSE_PAIRS = [r for r in HELDOUT_ROWS if r["stage"] == "response"]
PRINCIPLE_PAIRS = [r for r in HELDOUT_ROWS if r["stage"] == "principles"]
HELDOUT = [r["query"] for r in HELDOUT_ROWS if r["stage"] == "query"]
MIN_SCORE = 4


def _verdict(model: LocalChatModel, subject: Subject, slot: str) -> tuple[Critique, Usage]:
    return model.read_verdict(subject, slot)


def _subject(row: dict[str, Any], which: str, *, judged: bool = False) -> Subject:
    request = f"Request:\n{row['query']}"
    if judged:
        return Subject("response", request, query=row["query"], judged=row[which])
    if row["stage"] == "principles":
        return Subject("principles", request, query=row["query"], draft=row[which])
    return Subject("response", request, query=row["query"], principles=row["principles"], draft=row[which])


def _scored(rows: list[dict[str, Any]], slot: str, *, judged: bool = False) -> list[tuple[Critique, Critique]]:
    model = LocalChatModel()
    pairs = []
    for row in rows:
        verdicts = []
        for which in ("good", "bad"):
            critique, usage = _verdict(model, _subject(row, which, judged=judged), slot)
            assert usage.calls == 1 and usage.output_tokens == 0 and usage.input_tokens > 0  # reads, never writes
            assert critique.expected_score is not None and 1.0 <= critique.expected_score <= 5.0
            assert critique.score == int(critique.expected_score + 0.5) and critique.feedback
            verdicts.append(critique)
        pairs.append((verdicts[0], verdicts[1]))
    return pairs


@pytest.fixture(scope="module")
def response_pairs() -> list[tuple[Critique, Critique]]:
    return _scored(RESPONSE_PAIRS, "critic:response")


def _strictly_ranked(pairs: list[tuple[Critique, Critique]]) -> int:
    return sum(good.score is not None and bad.score is not None and good.score > bad.score for good, bad in pairs)


def _ranked_on_expected(pairs: list[tuple[Critique, Critique]]) -> int:
    return sum((good.expected_score or 0.0) > (bad.expected_score or 0.0) for good, bad in pairs)


PLAINLY_BAD = {"off-topic", "nonsense", "copies the question", "harmful"}
"""Bad answers that are not on-topic and wrong: the critic ranked all of these before it read correctness."""


def _plainly_bad(pairs: list[tuple[Critique, Critique]]) -> list[tuple[Critique, Critique]]:
    return [pair for pair, row in zip(pairs, RESPONSE_PAIRS, strict=True) if row["kind"] in PLAINLY_BAD]


def test_the_critic_ranks_right_above_wrong_responses(response_pairs):
    """Wrong facts, reversed advice and absurd steps on the right topic among the bad answers (measured:
    38/49 strictly on the integer score, 46/49 on the expected score)."""
    assert len(response_pairs) == len(RESPONSE_PAIRS) >= 40
    assert _strictly_ranked(response_pairs) >= math.ceil(0.72 * len(response_pairs))
    assert _ranked_on_expected(response_pairs) >= math.ceil(0.9 * len(response_pairs))
    plain = _plainly_bad(response_pairs)
    assert len(plain) >= 10 and _strictly_ranked(plain) == len(plain)


def test_good_responses_often_reach_min_score_and_bad_ones_mostly_stay_below(response_pairs):
    good = [g.score for g, _ in response_pairs]
    bad = [b.score for _, b in response_pairs]
    assert sum(s is not None and s >= MIN_SCORE for s in good) >= math.ceil(0.55 * len(good))  # measured 29/49
    assert sum(s is not None and s < MIN_SCORE for s in bad) >= math.ceil(0.8 * len(bad))  # measured 41/49
    assert all(b.score is not None and b.score < MIN_SCORE for _, b in _plainly_bad(response_pairs))


def test_the_critic_ranks_good_above_bad_principles():
    pairs = _scored(PRINCIPLE_PAIRS, "critic:principles")
    assert len(pairs) == len(PRINCIPLE_PAIRS)
    assert _strictly_ranked(pairs) >= 9  # measured 9/10
    assert sum(bad.score is not None and bad.score < MIN_SCORE for _, bad in pairs) >= 9
    assert sum(good.score is not None and good.score >= MIN_SCORE for good, _ in pairs) >= 8


def test_the_judge_without_principles_ranks_right_above_wrong_responses():
    """Measured: 37/49 strictly on the integer score, 43/49 on the expected score; 28/49 right answers at
    min_score or more."""
    pairs = _scored(RESPONSE_PAIRS, "base:response", judged=True)
    assert _strictly_ranked(pairs) >= math.ceil(0.75 * len(pairs))
    assert sum(good.score is not None and good.score >= MIN_SCORE for good, _ in pairs) >= 28
    assert _ranked_on_expected(pairs) >= math.ceil(0.85 * len(pairs))
    plain = _plainly_bad(pairs)
    assert _strictly_ranked(plain) == len(plain)


async def test_the_embedded_judge_tells_a_right_answer_from_nonsense():
    query = "How do I hard-boil an egg?"
    right = (
        "Put the egg in a pot of cold water, bring it to the boil, then simmer for nine minutes. Cool it in "
        "cold water before peeling."
    )
    nonsense = "The moon orbits Jupiter every Tuesday, so buy a new car."
    results = [
        await arun(query, profile="rubric", method="vanilla", response_to_judge=answer, model="local")
        for answer in (right, nonsense)
    ]
    for result in results:
        assert isinstance(result.expected_score, float) and result.score == int(result.expected_score + 0.5)
        assert result.calls == 1  # one judgment, read from log-probabilities
    assert results[0].score is not None and results[1].score is not None
    assert results[0].score >= 3 and results[1].score <= 2
    assert "repeats the request" not in (results[0].feedback or "")


@pytest.mark.parametrize("query", HELDOUT[:2])
async def test_default_drafts_are_clean_end_to_end(query):
    result = await arun(query, model="local", max_rounds=1)
    listed = items(result.principles or "")
    assert 3 <= len(listed) <= 6
    assert near_duplicates(listed) == 0
    assert all(ends_sentence(item) for item in listed)
    response = result.response or ""
    assert ends_sentence(response)
    assert not META.search(response)
    assert share_in(response, result.principles or "", 5) < 0.2
    # one draft and one critique per stage, nothing retried
    assert result.calls_per_stage == {"principles": 2, "response": 2}
    for stage in ("principles", "response"):
        critique = result.critiques[stage][0]
        assert critique.expected_score is not None and critique.score == int(critique.expected_score + 0.5)
