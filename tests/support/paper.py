"""Scripted models for the paper protocol: a numbering base model and a Prometheus-style critic."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import BaseMessage

from tests.support import DATA, PAPER_FIXTURES
from tests.support.fakes import ScriptedChatModel, scripted

CONSTITUTIONS = str(PAPER_FIXTURES / "seeds" / "reappraisal_constitutions_6.jsonl")
"""Six reappraisal constitutions, one per RESORT dimension in the paper's order (synthetic, in its format)."""
PRINCIPLE_INSTRUCT = str(PAPER_FIXTURES / "seeds" / "principles_6.jsonl")
"""Six question -> principle seeds in the format of the paper's Principle-Instruct seeds (synthetic)."""
PAPER_SEEDS = str(Path(PRINCIPLE_INSTRUCT).parent)
"""The folder of those seed files, which the paper's profiles use by default (``paper_seeds``)."""


@dataclass(frozen=True)
class PaperData:
    """One copy of the paper's data, laid out as released (resort/, biggen/, seeds/): where each file is."""

    root: Path
    posts: str
    instances: str
    constitutions: str
    principles: str
    rubrics: str

    def path(self, name: str) -> Path:
        return self.root / getattr(self, name)


SYNTHETIC = PaperData(
    PAPER_FIXTURES,
    posts="resort/eval_posts.jsonl",
    instances="biggen/instances.jsonl",
    constitutions="seeds/reappraisal_constitutions_6.jsonl",
    principles="seeds/principles_6.jsonl",
    rubrics="seeds/rubrics.jsonl",
)
RELEASED = PaperData(
    DATA,
    posts="resort/eval_posts_30.jsonl",
    instances="biggen/instances.jsonl",
    constitutions="seeds/reappraisal_constitutions_6.jsonl",
    principles="seeds/principles_6.jsonl",
    rubrics="seeds/rubrics_24.jsonl",
)


def paper_data(*names: str) -> list[Any]:
    """Parameters for a test that reads these files (``posts``, ``instances``, ...): the synthetic copy
    always, the released one where it is (else skipped, naming the missing files)."""
    released = pytest.mark.data(*(getattr(RELEASED, name) for name in names))
    return [pytest.param(SYNTHETIC, id="synthetic"), pytest.param(RELEASED, marks=released, id="released")]


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
