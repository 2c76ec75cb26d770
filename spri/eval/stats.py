"""Agreement statistics between a judge's scores and human scores (numpy only)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

Numbers = Sequence[float] | np.ndarray


def pearson(x: Numbers, y: Numbers) -> float:
    a, b = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(a) < 2 or a.std() == 0 or b.std() == 0:
        return math.nan
    return float(np.corrcoef(a, b)[0, 1])


def rankdata(values: Numbers) -> np.ndarray:
    """Ranks 1..n with ties given their average rank."""
    a = np.asarray(values, dtype=float)
    order = np.argsort(a, kind="mergesort")
    ranks = np.empty(len(a), dtype=float)
    sorted_values = a[order]
    i = 0
    while i < len(a):
        j = i
        while j + 1 < len(a) and sorted_values[j + 1] == sorted_values[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def spearman(x: Numbers, y: Numbers) -> float:
    return pearson(rankdata(x), rankdata(y))


def mae(x: Numbers, y: Numbers) -> float:
    a, b = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    return float(np.abs(a - b).mean()) if len(a) else math.nan


def krippendorff_alpha_ratio(x: Numbers, y: Numbers) -> float:
    """Krippendorff's alpha at the ratio level for two raters who both rated every unit.

    delta^2(c, k) = ((c - k) / (c + k))^2, taken as 0 where c + k = 0 (as the common `krippendorff`
    package does). alpha = 1 - D_o / D_e with D_o the mean disagreement within units and D_e that
    between all pooled values.
    """
    a, b = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(a) < 2:
        return math.nan
    d_observed = float(np.mean(_ratio_delta2(a, b)))
    values, counts = np.unique(np.concatenate([a, b]), return_counts=True)
    n = counts.sum()
    pair = _ratio_delta2(values[:, None], values[None, :])
    d_expected = float((counts[:, None] * counts[None, :] * pair).sum() / (n * (n - 1)))
    return 1.0 - d_observed / d_expected if d_expected > 0 else math.nan


def _ratio_delta2(c: np.ndarray, k: np.ndarray) -> np.ndarray:
    total = c + k
    diff = c - k
    ratio = np.divide(diff, total, out=np.zeros(np.broadcast(diff, total).shape), where=total != 0)
    return np.asarray(ratio**2)
