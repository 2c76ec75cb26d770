"""The methods an evaluation compares, from spri's one method table: the rows that name the evaluation
(``spri.api.compared_in``), in the table's order, which is the paper's, then the evaluation's own
``oracle`` arm (the items' expert principles, or the instances' gold rubrics). Rows of the paper's
released files, labelled as its tables label them ('mt-bench rubric', 'oracle rubrics', ...), sort in
the same order."""

from __future__ import annotations

from spri.api import METHODS, Evaluation, compared_in

ORACLE = "oracle"
"""Every evaluation's own arm: the items' expert principles or the instances' gold rubrics."""

RELEASED_ORACLE = {"rubric": "oracle rubrics", "reappraisal": "oracle principles"}
"""How the paper's released files label the oracle's rows."""


def compared(evaluation: Evaluation) -> tuple[str, ...]:
    """What ``spri eval EVALUATION`` compares by default, and all it accepts."""
    return (*compared_in(evaluation), ORACLE)


def rank(label: str, evaluation: Evaluation) -> int:
    """Where a row goes in the paper's order: a method, or a released file's label for one (spaces for
    hyphens), then the released oracle rows, then a live oracle; anything else last."""
    order = (*compared_in(evaluation), RELEASED_ORACLE[evaluation], ORACLE)
    name = label.replace(" ", "-") if label.replace(" ", "-") in METHODS else label
    return order.index(name) if name in order else len(order)


def baselines() -> list[tuple[str, str]]:
    """The methods the paper tests the others against (Table 1), with the mark a method beating each gets."""
    return [(name, plan.significance_mark) for name, plan in METHODS.items() if plan.significance_mark]
