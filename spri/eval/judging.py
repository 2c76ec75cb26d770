"""Scoring responses with a judge model on the live reappraisal metrics (prompts in judges.toml): the
project's own judges, or the paper's (protocol 'paper')."""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from functools import lru_cache
from importlib import resources
from typing import Any

from spri.api import ModelSpec, Usage, formatted_answer, prompt_messages
from spri.eval.reappraisal_scores import FACTUALITY, HARM, PARSERS, parse_bare_score, parse_choice, parse_tagged_score

REMINDER = "Your reply was not in the required format. Reply again, exactly in the format asked for."

METRICS = {
    "default": ("alignment", "empathy", "harmfulness", "factual_consistency"),
    "paper": ("alignment", "empathy", "harm", "factuality"),
}
"""The metrics each protocol's judges rate, in report order."""

_CHOICES = {"harm": HARM, "factuality": FACTUALITY}


@lru_cache(maxsize=1)
def _all_prompts() -> dict[str, Any]:
    text = (resources.files("spri.eval") / "judges.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def judge_prompts(protocol: str = "default") -> dict[str, dict[str, Any]]:
    """Each metric's judge prompt, scale and output format under ``protocol``."""
    prompts = _all_prompts()
    return {metric: (prompts["paper"] if protocol == "paper" else prompts)[metric] for metric in METRICS[protocol]}


def _parser(metric: str, spec: dict[str, Any], protocol: str) -> Callable[[str], float | None]:
    if protocol == "paper":  # the authors' own parsers, exactly
        return PARSERS[metric]
    if spec["parse"] == "choice":
        return lambda text: parse_choice(text, _CHOICES[metric])
    low, high = spec["low"], spec["high"]
    if spec["parse"] == "tag":
        return lambda text: parse_tagged_score(text, low, high)
    return lambda text: parse_bare_score(text, low, high)


async def rate(
    judge: ModelSpec, metric: str, variables: dict[str, Any], *, protocol: str = "default", max_tokens: int = 256
) -> tuple[str, float | None, Usage]:
    """(raw output, parsed score or None, usage) of one judge call, with one format reminder; under
    protocol 'paper' one call, read with the authors' parser, as their judges were."""
    spec = judge_prompts(protocol)[metric]
    messages = prompt_messages(spec["system"].strip(), spec["user"].strip(), variables)
    return await formatted_answer(
        judge,
        messages,
        _parser(metric, spec, protocol),
        reminder=None if protocol == "paper" else REMINDER,
        role="judge",
        max_tokens=max_tokens,
        grammar=spec["grammar"].strip(),
    )
