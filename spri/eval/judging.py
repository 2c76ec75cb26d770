"""Scoring responses with a judge model on the live reappraisal metrics (prompts in judges.toml)."""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from functools import lru_cache
from importlib import resources
from typing import Any

from spri.api import ModelSpec, Usage, formatted_answer, prompt_messages
from spri.eval.reappraisal_scores import parse_bare_score, parse_tagged_score

REMINDER = "Your reply was not in the required format. Reply again, exactly in the format asked for."


@lru_cache(maxsize=1)
def judge_prompts() -> dict[str, dict[str, Any]]:
    text = (resources.files("spri.eval") / "judges.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


METRICS = ("alignment", "empathy", "harmfulness", "factual_consistency")


def _parser(spec: dict[str, Any]) -> Callable[[str], float | None]:
    low, high = spec["low"], spec["high"]
    if spec["parse"] == "tag":
        return lambda text: parse_tagged_score(text, low, high)
    return lambda text: parse_bare_score(text, low, high)


async def rate(
    judge: ModelSpec, metric: str, variables: dict[str, Any], *, max_tokens: int = 256
) -> tuple[str, float | None, Usage]:
    """(raw output, parsed score or None, usage) of one judge call, with one format reminder."""
    spec = judge_prompts()[metric]
    messages = prompt_messages(spec["system"].strip(), spec["user"].strip(), variables)
    return await formatted_answer(
        judge,
        messages,
        _parser(spec),
        reminder=REMINDER,
        role="judge",
        max_tokens=max_tokens,
        grammar=spec["grammar"].strip(),
    )
