"""Handlers given under MODEL_CALLBACKS (a server's per-call metrics) see each model call of the run and
nothing else: the graph's nodes, routers and channel writes do not report to them."""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import AsyncCallbackHandler

from spri import arun
from spri.api import MODEL_CALLBACKS
from tests.support.fakes import critique, scripted


class Events(AsyncCallbackHandler):
    def __init__(self) -> None:
        self.seen: list[tuple[str, tuple[str, ...]]] = []

    async def on_chat_model_start(self, serialized: Any, messages: Any, *, tags: Any = None, **kwargs: Any) -> None:
        self.seen.append(("model", tuple(tags or ())))

    async def on_chain_start(self, serialized: Any, inputs: Any, **kwargs: Any) -> None:
        self.seen.append(("chain", ()))

    async def on_llm_end(self, response: Any, **kwargs: Any) -> None:
        self.seen.append(("end", ()))


async def test_model_call_handlers_see_the_model_calls_only():
    events = Events()
    model = scripted("P1", critique(3, "Vague."), "P2", critique(5), "R1", critique(5))
    done = await arun("Q?", model=model, parent_config={MODEL_CALLBACKS: [events]})
    assert done.calls == 6
    starts = [tags for kind, tags in events.seen if kind == "model"]
    assert len(starts) == 6 and events.seen.count(("end", ())) == 6
    assert [next(t for t in tags if t.startswith("spri:")) for tags in starts] == ["spri:base", "spri:critic"] * 3
    assert ("chain", ()) not in events.seen
