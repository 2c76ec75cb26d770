"""Scripted models for the paper protocol: a numbering base model and a Prometheus-style critic."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from langchain_core.messages import BaseMessage

from tests.support import DATA
from tests.support.fakes import ScriptedChatModel, scripted

CONSTITUTIONS = str(DATA / "seeds" / "reappraisal_constitutions_6.jsonl")
PRINCIPLE_INSTRUCT = str(DATA / "seeds" / "principles_6.jsonl")
PAPER_SEEDS = str(Path(PRINCIPLE_INSTRUCT).parent)
"""The folder of the paper's seed files, which the paper's profiles use by default (``paper_seeds``)."""


def is_prometheus_prompt(messages: Sequence[BaseMessage]) -> bool:
    """The paper's critic prompts: one user message in Prometheus's layout asking for `[RESULT] N`."""
    return "### Task Description:" in messages[-1].text and "[RESULT]" in messages[-1].text


def numbered_base(prefix: str = "DRAFT") -> ScriptedChatModel:
    """Answers every call with ``PREFIX n`` (n = 1, 2, ...), so each draft is traceable."""
    count = iter(range(1, 1000))
    return scripted(default=lambda messages: f"{prefix} {next(count)}", name="base")


def critic_scoring(scores: Iterable[int | str], then: int = 4) -> ScriptedChatModel:
    """A text-only critic answering in Prometheus's format with ``scores`` in turn, then ``then``."""
    queue = list(scores)

    def reply(messages: list[BaseMessage]) -> str:
        score = queue.pop(0) if queue else then
        return f"Feedback: FEEDBACK-{score} needs work. [RESULT] {score}"

    return scripted(default=reply, name="prometheus")


def texts(call: list[BaseMessage]) -> str:
    """Every message of one call, as one text."""
    return "\n".join(m.text for m in call)


def kinds(call: list[BaseMessage]) -> list[str]:
    return [m.type for m in call]


def paper(**options: Any) -> dict[str, Any]:
    """Run options of protocol 'paper', its seeds' folder given."""
    return {"protocol": "paper", "paper_seeds": PAPER_SEEDS, **options}
