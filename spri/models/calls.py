"""One base-model reply, and what it cost."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler, BaseCallbackManager
from langchain_core.messages import BaseMessage
from langchain_core.runnables import Runnable, ensure_config

from spri.models.cache import served_from_cache
from spri.models.errors import ModelError
from spri.models.sites import CallSite, for_call
from spri.state import Usage
from spri.state.context import ModelSpec


@dataclass
class Reply:
    text: str
    usage: Usage


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


@dataclass
class Speculation:
    """The model calls made inside :func:`speculative`, counted as they reach the model (a LangChain
    model run starts), so a speculation cancelled in flight still reports the calls it made."""

    calls: int = 0


class _CountStarts(BaseCallbackHandler):
    """Counts each model run that starts into a :class:`Speculation`."""

    run_inline = True

    def __init__(self, tally: Speculation) -> None:
        self.tally = tally

    def on_chat_model_start(self, serialized: Any, messages: Any, **kwargs: Any) -> None:
        self.tally.calls += 1

    def on_llm_start(self, serialized: Any, prompts: Any, **kwargs: Any) -> None:
        self.tally.calls += 1


_SPECULATION: ContextVar[Speculation | None] = ContextVar("spri_speculation", default=None)


@contextmanager
def speculative() -> Iterator[Speculation]:
    """Calls made inside (and in tasks started inside) are speculative: tagged ``spri:speculative`` and
    ``nostream``, so LangGraph's ``messages`` stream never shows a draft that may be discarded, and
    counted in the yielded :class:`Speculation`."""
    tally = Speculation()
    token = _SPECULATION.set(tally)
    try:
        yield tally
    finally:
        _SPECULATION.reset(token)


MODEL_CALLBACKS = "spri_model_callbacks"
"""Key in a run's ``configurable`` of callback handlers that see the run's model calls and nothing else
(a server's per-call metrics): unlike handlers in the run's own callbacks, they do not make every
node, router and channel write of the graph report to them."""


def _with_handlers(config: Any, handlers: list[BaseCallbackHandler]) -> Any:
    """The callbacks of the calling run (a copy) with ``handlers`` added."""
    callbacks = config.get("callbacks")
    if isinstance(callbacks, BaseCallbackManager):
        for handler in handlers:
            callbacks.add_handler(handler, inherit=False)
        return callbacks
    return [*(callbacks or []), *handlers]


def call_config(role: str, *, visible: bool = False) -> Any:
    """The config of one model call: its trace name and tag (``spri:base``, ``spri:critic``, ...).
    Calls that are not ``visible`` (verdicts) are also tagged ``nostream``, so LangGraph's
    ``messages`` stream carries only the base model's drafts, not the critic's JSON. Speculative calls
    are tagged ``spri:speculative`` and ``nostream``, and counted. The run's model-call handlers
    (:data:`MODEL_CALLBACKS`) are added to the call's callbacks."""
    calling = ensure_config()
    handlers = list(calling["configurable"].get(MODEL_CALLBACKS) or ())
    speculation = _SPECULATION.get()
    if speculation is not None:
        handlers.append(_CountStarts(speculation))
        tags = [f"spri:{role}", "spri:speculative", "nostream"]
    else:
        tags = [f"spri:{role}"] if visible else [f"spri:{role}", "nostream"]
    config: dict[str, Any] = {"run_name": role, "tags": tags}
    if handlers:
        config["callbacks"] = _with_handlers(calling, handlers)
    return config


async def generate(
    model: ModelSpec | Runnable[Any, Any], messages: list[BaseMessage], *, role: str, max_tokens: int
) -> Reply:
    """One reply of the model: a spec, a chat model, or a model bound to its call by
    :func:`spri.models.for_call`. An empty reply is retried once, then reported as an error."""
    bound = for_call(model, CallSite(role=role, max_tokens=max_tokens))
    usage = Usage(calls=0)
    for _ in range(2):
        message = await bound.ainvoke(messages, config=call_config(role, visible=True))
        usage += usage_of(message)
        text = text_of(message)
        if text:
            return Reply(text=text, usage=usage)
    raise ModelError(f"the {role} model returned an empty reply twice")
