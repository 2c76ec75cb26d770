"""Meta-evaluation of judges: agreement with human scores per capability, averaged over capabilities.

This is how the paper's Table 2 is computed: for each (judge model, method), over the rows whose judge
score parses, Pearson's r between judge and human scores within each capability, then the mean over
capabilities. Spearman, MAE and Krippendorff's alpha (ratio) are averaged the same way. Rows whose
human label is -1 (invalid) are kept unless ``drop_invalid`` (the paper keeps them). A judgment whose
score did not parse is left out of the metrics and counted in the row's ``unparsed``; a method none of
whose judgments parsed keeps its row, with no metrics.
"""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from spri.api import SpriError
from spri.eval.methods import rank
from spri.eval.stats import krippendorff_alpha_ratio, mae, pearson, spearman

REQUIRED_COLUMNS = ("judge_model", "method", "id", "capability", "human_score", "judge_score")
META_COLUMNS = ("judge_model", "method", "pearson", "spearman", "mae", "alpha", "n", "unparsed")
"""The columns of a meta-evaluation table."""


class MetaRow(BaseModel):
    judge_model: str
    method: str
    pearson: float
    spearman: float
    mae: float
    alpha: float
    n: int
    unparsed: int = Field(default=0, description="Judgments whose score did not parse (not in the metrics).")


def parse_score(value: Any) -> float | None:
    """A judge or human score as a number, or None when empty or not a number."""
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def read_judgments(path: str | Path) -> list[dict[str, str]]:
    """Rows of a judgments CSV, checked for the required columns (the error names what is missing)."""
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise SpriError(f"{path}: missing column(s) {', '.join(missing)} (need {', '.join(REQUIRED_COLUMNS)})")
            return list(reader)
    except FileNotFoundError as exc:
        raise SpriError(f"file not found: {path}") from exc
    except UnicodeDecodeError as exc:
        raise SpriError(f"{path} is not UTF-8 text: {exc.reason}") from exc


def meta_table(rows: Iterable[Mapping[str, Any]], *, drop_invalid: bool = False) -> list[MetaRow]:
    """One row per (judge_model, method): metrics per capability, averaged over capabilities."""
    groups: dict[tuple[str, str], dict[str, list[tuple[float, float]]]] = defaultdict(lambda: defaultdict(list))
    unparsed: dict[tuple[str, str], int] = defaultdict(int)
    for row in rows:
        human, judge = parse_score(row["human_score"]), parse_score(row["judge_score"])
        if human is None or (drop_invalid and human < 0):
            continue
        group = groups[(str(row["judge_model"]), str(row["method"]))]
        if judge is None:
            unparsed[(str(row["judge_model"]), str(row["method"]))] += 1
            continue
        group[str(row["capability"])].append((human, judge))
    table = []
    for (judge_model, method), capabilities in groups.items():
        per_capability = []
        for pairs in capabilities.values():
            human_scores, judge_scores = [p[0] for p in pairs], [p[1] for p in pairs]
            per_capability.append(
                (
                    pearson(judge_scores, human_scores),
                    spearman(judge_scores, human_scores),
                    mae(judge_scores, human_scores),
                    krippendorff_alpha_ratio(human_scores, judge_scores),
                )
            )
        means = [_nanmean([metrics[i] for metrics in per_capability]) for i in range(4)]
        n = sum(len(pairs) for pairs in capabilities.values())
        metrics = dict(zip(_METRICS, means, strict=True))
        left_out = unparsed[(judge_model, method)]
        table.append(MetaRow(judge_model=judge_model, method=method, **metrics, n=n, unparsed=left_out))
    return sorted(table, key=lambda r: (r.judge_model, rank(r.method, "rubric"), r.method))


_METRICS = ("pearson", "spearman", "mae", "alpha")


def _nanmean(values: list[float]) -> float:
    kept = [v for v in values if not math.isnan(v)]
    return sum(kept) / len(kept) if kept else math.nan


def method_rank(method: str) -> int:
    """Where a method's row goes in Table 2's order (released labels and live names alike)."""
    return rank(method, "rubric")
