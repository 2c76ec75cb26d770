"""Which column names of a data file mean which field, for batch inputs and seed files alike."""

from __future__ import annotations

COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "query": ("query", "prompt", "instruction", "question", "input", "post", "reddit_post", "Reddit Post", "text"),
    "goal": ("goal", "response_goal", "appraisal_dimension_aim"),
    "reference": ("reference", "reference_answer"),
    "response_to_judge": ("response_to_judge", "response"),
    "principles": ("principles", "principle", "constitution", "oracle_principles", "rubric", "score_rubric"),
    "category": ("category", "question_type", "capability", "appraisal_dimension", "dimension"),
}
"""Column names recognised for a field when no explicit mapping names one; the first present wins."""

SEED_FIELDS = ("query", "goal", "reference", "principles", "category")
"""The fields a seed example may carry."""


def find_column(field: str, columns: object, explicit: dict[str, str] | None = None) -> str | None:
    """The column that feeds ``field``: the explicit mapping's, else the first known alias present in
    ``columns`` (anything supporting ``in``), else None."""
    if explicit and field in explicit:
        return explicit[field]
    return next((name for name in COLUMN_ALIASES.get(field, (field,)) if name in columns), None)  # type: ignore[operator]
