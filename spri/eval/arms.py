"""What a live evaluation runs for each method it compares (an *arm*), per protocol, and the paper's
ablations of SPRI as arms. Under protocol 'paper' the arms default to the paper's seeds for the task
(the released files: in the folder given as ``paper_seeds``, else beside the evaluation data) and to the
authors' baselines."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spri.api import SpriError
from spri.eval.methods import ORACLE

CONSTITUTIONS = "reappraisal_constitutions_6.jsonl"
PRINCIPLE_INSTRUCT = "principles_6.jsonl"
LEAK_NOTE = (
    "protocol paper runs SPRI with the paper's seeds: for reappraisal, the RESORT constitution of the item's "
    "own dimension, which is that item's oracle principles (and its seed post is that item's for 6 of the 30); "
    "to leave them out: --seeds DATA/seeds/reappraisal_constitutions_6.jsonl --seed-policy others"
)


@dataclass(frozen=True)
class Arm:
    """One compared setting: its label in items.jsonl and the report, and the run options it sets."""

    name: str
    options: dict[str, Any] = field(default_factory=dict)
    item_principles: bool = False
    """Runs with the item's own expert principles (or gold rubric) as its principles."""


def paper_seed_file(
    data_file: str | Path, name: str, folder: str | Path | None = None, *, or_seeds: bool = True
) -> str:
    """One of the paper's released seed files: NAME in ``folder`` (--paper-seeds), else in the ``seeds/``
    folder beside the evaluation data's folder, as released (``DATA/resort/x.jsonl`` -> ``DATA/seeds/NAME``).
    ``or_seeds``: the error may point to --seeds too (when one seed file is all the run needs)."""
    where = Path(folder).expanduser() if folder else Path(data_file).resolve().parent.parent / "seeds"
    candidate = where / name
    if candidate.is_file():
        return str(candidate)
    alternative = ", or --seeds FILE" if or_seeds else ""
    raise SpriError(
        f"protocol paper uses the paper's seed file {name}, not found at {candidate}: give the folder of the "
        f"paper's released seed files with --paper-seeds DIR{alternative}"
    )


def reappraisal_arms(
    methods: Sequence[str],
    protocol: str,
    posts: str,
    options: Mapping[str, Any],
    sequence_file: Path,
    paper_seeds: str | Path | None = None,
) -> list[Arm]:
    """The arm of each method. Under protocol 'paper': SPRI with the paper's seeds (one RESORT
    constitution, the item's dimension's) unless ``options`` name seeds; oracle = the items' expert
    constitutions applied in sequence (written to ``sequence_file``)."""
    arms = []
    for method in methods:
        if method == ORACLE and protocol == "paper":
            arms.append(Arm(ORACLE, {"method": "sequential-principles", "seeds": str(sequence_file)}))
        elif method == ORACLE:
            arms.append(Arm(ORACLE, {"method": "fixed-principles"}, item_principles=True))
        elif method == "spri" and protocol == "paper" and not options.get("seeds"):
            seeds = paper_seed_file(posts, CONSTITUTIONS, paper_seeds)
            arms.append(Arm("spri", {"method": "spri", "seeds": seeds, "seed_policy": "category"}))
        else:
            arms.append(Arm(method, {"method": method}))
    return arms


def ablation_arms(kind: str, posts: str, paper_seeds: str | Path | None = None) -> list[Arm]:
    """The paper's released ablations of SPRI on reappraisal, as the authors ran them: seeds none and
    Principle-Instruct with the task-free prompts (the goal only in the principles request), all six
    constitutions or the item's dimension's one with the reappraisal prompts; min_score 4 against 5
    with all six constitutions."""
    constitutions = paper_seed_file(posts, CONSTITUTIONS, paper_seeds, or_seeds=False)
    every = {"method": "spri", "seeds": constitutions, "seed_policy": "all"}
    if kind == "min-score":
        return [Arm("min_score=4", {**every, "min_score": 4}), Arm("min_score=5", {**every, "min_score": 5})]
    if kind != "seeds":
        raise SpriError(f"unknown ablation {kind!r}: choose seeds or min-score")
    general = {"method": "spri", "profile": "general"}
    return [
        Arm("seeds=none", {**general, "seed_policy": "none"}),
        Arm(
            "seeds=principle-instruct",
            {**general, "seeds": paper_seed_file(posts, PRINCIPLE_INSTRUCT, paper_seeds, or_seeds=False)},
        ),
        Arm("seeds=all-6", every),
        Arm("seeds=1-per-dimension", {**every, "seed_policy": "category"}),
    ]


def write_sequence(items: Sequence[Mapping[str, Any]], path: Path) -> None:
    """The items' expert principles as a seed file, one per dimension in dimension order: the
    constitutions the paper's oracle applies in turn (RESORT's iterative +cons)."""
    by_dimension: dict[Any, Mapping[str, Any]] = {}
    for number, item in enumerate(items, 1):
        if item.get("dimension_id") in (None, "") or not item.get("dimension"):
            raise SpriError(f"item {number} ({item.get('id')}): the paper's oracle needs dimension_id and dimension")
        by_dimension.setdefault(item["dimension_id"], item)
    ordered = sorted(by_dimension.items(), key=lambda pair: float(pair[0]))
    lines = [{"query": i["post"], "category": i["dimension"], "principles": i["oracle_principles"]} for _, i in ordered]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
