"""One base-model reply, and what it cost."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from langchain_core.messages import BaseMessage

from spri.models.cache import served_from_cache
from spri.models.errors import ModelError
from spri.models.resolve import resolve
from spri.state import Usage
from spri.state.context import ModelSpec


@dataclass
class Reply:
    text: str
    usage: Usage


@runtime_checkable
class TakesDraftOptions(Protocol):
    """A model with call options of its own for drafts (the embedded model: a grammar, a KV-cache slot)."""

    def draft_options(self, *, grammar: str, slot: str) -> dict[str, Any]: ...


def usage_of(message: BaseMessage | None) -> Usage:
    """What one model call spent; a reply served from the model-call cache spent nothing."""
    if served_from_cache(message):
        return Usage(calls=0, cache_hits=1)
    meta = getattr(message, "usage_metadata", None) or {}
    return Usage(calls=1, input_tokens=meta.get("input_tokens", 0), output_tokens=meta.get("output_tokens", 0))


_THINK = re.compile(r"^\s*<think>.*?</think>\s*", re.DOTALL)


def text_of(message: BaseMessage) -> str:
    """The reply's text, without a leading <think>...</think> block of reasoning models."""
    return _THINK.sub("", message.text).strip()


def call_config(role: str, *, visible: bool = False) -> Any:
    """The config of one model call: its trace name and tag (``spri:base``, ``spri:critic``, ...).
    Calls that are not ``visible`` (verdicts) are also tagged ``nostream``, so LangGraph's
    ``messages`` stream carries only the base model's drafts, not the critic's JSON."""
    return {"run_name": role, "tags": [f"spri:{role}"] if visible else [f"spri:{role}", "nostream"]}


async def generate(
    spec: ModelSpec, messages: list[BaseMessage], *, role: str, max_tokens: int, grammar: str = "", slot: str = ""
) -> Reply:
    """One reply of the model (held to ``grammar`` where the model supports grammars). ``slot`` names the
    embedded model's KV cache to reuse (calls sharing a prompt prefix should share a slot). An empty
    reply is retried once, then reported as an error."""
    model = resolve(spec, max_tokens)
    options = model.draft_options(grammar=grammar, slot=slot or role) if isinstance(model, TakesDraftOptions) else {}
    usage = Usage(calls=0)
    for _ in range(2):
        message = await model.ainvoke(messages, config=call_config(role, visible=True), **options)
        usage += usage_of(message)
        text = text_of(message)
        if text:
            return Reply(text=text, usage=usage)
    raise ModelError(f"the {role} model returned an empty reply twice")
