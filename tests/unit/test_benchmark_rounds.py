"""benchmarks/compare.py's rounds: the embedded loop's benchmark asks the next held-out queries in each
round, so four rounds of five cover twenty, each asked by both commits back to back."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture
def loop(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    monkeypatch.delitem(sys.modules, "bench_embedded_loop", raising=False)
    import bench_embedded_loop

    return bench_embedded_loop


def test_each_round_takes_the_next_slice_of_held_out_queries(loop):
    rounds = [loop.queries(5, round_) for round_ in range(4)]
    asked = [query for slice_ in rounds for query in slice_]
    assert all(len(slice_) == 5 for slice_ in rounds)
    assert len(set(asked)) == 20
    held_out = [r["query"] for r in loop._rows() if r["stage"] == "query"]
    assert asked == held_out[:20]
    with pytest.raises(SystemExit, match="no held-out queries left"):
        loop.queries(5, 4)


def test_the_round_reaches_the_measuring_process(monkeypatch, loop):
    import harness

    assert harness.round_index() == 0
    monkeypatch.setenv(harness.ROUND_VARIABLE, "3")
    assert harness.round_index() == 3
