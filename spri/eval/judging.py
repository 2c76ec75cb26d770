"""Scoring responses with a judge model on the live reappraisal metrics (prompts in judges.toml)."""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from functools import lru_cache
from importlib import resources
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from spri import models
from spri.eval.reappraisal_scores import parse_bare_score, parse_tagged_score
from spri.state import Usage
from spri.state.context import ModelSpec
from spri.state.profile import compile_template

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
    parse = _parser(spec)
    messages: list[BaseMessage] = [
        SystemMessage(content=compile_template(spec["system"].strip()).render(**variables)),
        HumanMessage(content=compile_template(spec["user"].strip()).render(**variables)),
    ]
    usage = Usage(calls=0)
    raw = ""
    for attempt in range(2):
        if attempt:
            messages = [*messages, AIMessage(content=raw or "(no reply)"), HumanMessage(content=REMINDER)]
        reply = await models.generate(
            judge,
            messages,
            role="judge",
            max_tokens=max_tokens,
            grammar=spec["grammar"].strip(),
            slot="judge",
        )
        usage += reply.usage
        raw = reply.text
        score = parse(raw)
        if score is not None:
            return raw, score, usage
    return raw, None, usage
