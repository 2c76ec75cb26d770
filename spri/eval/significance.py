"""Table 1's significance marks: does a method beat the vanilla and self-refine baselines per item?

For each model, metric and method, a paired two-sided t-test (``scipy.stats.ttest_rel``) against each
baseline over the items both have a parsed score for: ``*`` when the method beats vanilla (p < 0.05 and
a higher mean over those items), ``†`` likewise against self-refine, ``*†`` for both, else ``""``. The
baselines themselves carry ``""``. This reproduces the paper's marks from its released judgments.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from spri.eval.methods import baselines

ALPHA = 0.05

Scores = dict[str, float]
"""One method's parsed scores of one metric, by item id."""


def beats(method: Scores, baseline: Scores) -> bool:
    """True when ``method`` scores higher than ``baseline`` on the items both have, by a paired
    two-sided t-test at p < 0.05."""
    from scipy.stats import ttest_rel

    common = sorted(set(method) & set(baseline))
    if len(common) < 2:
        return False
    ours, theirs = [method[i] for i in common], [baseline[i] for i in common]
    if sum(ours) <= sum(theirs):
        return False
    p_value = float(ttest_rel(ours, theirs).pvalue)
    return not math.isnan(p_value) and p_value < ALPHA


def significance_marks(
    records: Iterable[Mapping[str, Any]], metrics: Mapping[str, Callable[[Mapping[str, Any]], float | None]]
) -> dict[tuple[str, str], dict[str, str]]:
    """Marks per (model, method): {metric: "*", "†", "*†" or ""}. ``metrics`` reads each metric's
    score (or None) from a record; records carry ``model``, ``method`` and ``id``."""
    scores: dict[tuple[str, str], dict[str, Scores]] = defaultdict(lambda: defaultdict(dict))
    for record in records:
        key = (str(record.get("model", "")), str(record.get("method", "")))
        for metric, read in metrics.items():
            value = read(record)
            if value is not None:
                scores[key][metric][str(record.get("id"))] = value
    marks: dict[tuple[str, str], dict[str, str]] = {}
    tested_against = baselines()
    for (model, method), by_metric in scores.items():
        against = [(scores.get((model, name)), mark) for name, mark in tested_against if name != method]
        if len(against) < len(tested_against):  # a baseline is not marked
            marks[(model, method)] = {metric: "" for metric in metrics}
            continue
        marks[(model, method)] = {
            metric: "".join(mark for base, mark in against if base and beats(by_metric[metric], base[metric]))
            for metric in metrics
        }
    return marks
