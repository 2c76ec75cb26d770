"""Speculative stage-2 drafting (``Context.speculate``): while the critic judges a principles draft,
``speculate_response`` drafts the response from that same draft, in the same LangGraph superstep.

- The speculation is kept apart from the drafts (``State.speculation``) with a key of everything the
  response draft depends on: the settings and the principles it follows.
- ``draft_response`` uses it when its key still holds (the principles stage ended on that draft:
  accepted, or stopped at max_rounds or on an unreadable critique); the result is then exactly what
  drafting there would have given, one model latency earlier. Otherwise it is discarded and counted.
- When the critic's verdict means another refinement, the judge calls the speculation off: its model
  call is cancelled rather than waited for (the superstep ends when both branches do).
- Every discarded speculation's calls and tokens go to ``speculative_waste`` (finalize reports them in
  ``calls``, ``tokens``, ``calls_per_role`` and ``speculative_wasted``).

Only for methods that draft principles and then draft a response (``plan.principles == 'draft'``),
and never with ``review_principles`` (the human may change the principles, so the draft could not be
used). A speculation that fails is discarded: ``draft_response`` then drafts (and retries) as usual.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import weakref
from collections.abc import Hashable
from typing import Any

from langgraph.config import get_config
from langgraph.errors import GraphBubbleUp
from langgraph.runtime import Runtime
from pydantic_core import to_jsonable_python

from spri import models
from spri.nodes.loop import Node
from spri.nodes.profiles import plan_of
from spri.nodes.tracing import annotate
from spri.state import Context, Critique, State, Usage, stop_reason


def speculates(ctx: Context) -> bool:
    """Whether this run drafts the response speculatively beside each principles critique."""
    return ctx.speculate and not ctx.review_principles and plan_of(ctx).principles == "draft"


def key_of(state: State, ctx: Context) -> str:
    """What a response draft depends on: the run's settings (bar ``speculate``) and the principles it
    follows. A speculation is used only while this is unchanged."""
    settings = json.loads(ctx.to_json())
    settings.pop("speculate", None)
    basis = json.dumps([settings, state.principles_used(plan_of(ctx))], sort_keys=True)
    return hashlib.sha256(basis.encode()).hexdigest()


class _Race:
    """One superstep's speculation, which its sibling judge may call off."""

    def __init__(self) -> None:
        self.called_off = asyncio.Event()


_RACES: weakref.WeakValueDictionary[Hashable, _Race] = weakref.WeakValueDictionary()
"""The speculations in flight, by superstep; an entry lives as long as its speculation runs."""


def _superstep() -> Hashable:
    """The same key for the tasks of one superstep of one run (thread, graph namespace, checkpoint)."""
    configurable = get_config().get("configurable") or {}
    namespace = str(configurable.get("checkpoint_ns") or "").rpartition("|")[0]
    checkpoints = configurable.get("checkpoint_map") or {}
    return (configurable.get("thread_id"), namespace, checkpoints.get(namespace))


def _waste(usage: Usage) -> dict[str, Any]:
    """The update recording discarded speculative calls and tokens."""
    return {"speculative_waste": usage.model_dump()} if usage.calls else {}


def _pending_usage(state: State) -> Usage:
    """What the pending speculation (if any) spent."""
    pending = state.speculation
    if not pending:
        return Usage(calls=0)
    return Usage.model_validate(pending["update"]["usage"]["response"])


def wasted_usage(state: State) -> Usage:
    """Calls and tokens of every speculation that was not used: those discarded, and one still pending
    at the end (which routing never leaves: draft_response uses or discards it)."""
    return Usage.model_validate(state.speculative_waste) + _pending_usage(state)


def speculating(draft: Node) -> Node:
    """``speculate_response``: ``draft`` run as a speculation (its calls tagged ``spri:speculative`` and
    hidden from the messages stream), stored for ``draft_response``, or dropped if called off."""

    async def speculate_response(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        stale = _pending_usage(state)  # drafted from principles that were then refined
        race = _Race()
        _RACES[_superstep()] = race
        with models.speculative() as tally:
            call = asyncio.ensure_future(draft(state, runtime))
            called_off = asyncio.ensure_future(race.called_off.wait())
            try:
                await asyncio.wait({call, called_off}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                called_off.cancel()
                if not call.done():
                    call.cancel()
                await asyncio.gather(call, called_off, return_exceptions=True)
        dropped = Usage(calls=tally.calls)
        if call.cancelled():
            annotate(runtime.context, stage="response", round=1, speculation="called off")
            return {"speculation": None, **_waste(stale + dropped)}
        error = call.exception()
        if isinstance(error, GraphBubbleUp):
            raise error
        if error is not None:
            annotate(runtime.context, stage="response", round=1, speculation=f"failed: {type(error).__name__}")
            return {"speculation": None, **_waste(stale + dropped)}
        pending = {"key": key_of(state, runtime.context), "update": to_jsonable_python(call.result())}
        return {"speculation": pending, **_waste(stale)}

    return speculate_response


def calling_off(judge: Node) -> Node:
    """``judge_principles`` that, when its verdict sends the principles back for refinement, cancels the
    speculation drafting from them in the same superstep (it could not be used)."""

    async def judge_principles(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        update = await judge(state, runtime)
        ctx = runtime.context
        if speculates(ctx):
            new = [
                c if isinstance(c, Critique) else Critique.model_validate(c) for c in update["critiques"]["principles"]
            ]
            if stop_reason([*state.critiques.get("principles", []), *new], ctx.min_score, ctx.max_rounds) is None:
                race = _RACES.get(_superstep())
                if race is not None:
                    race.called_off.set()
        return update

    return judge_principles


def adopting(draft: Node) -> Node:
    """``draft_response`` that takes the pending speculation when it was drafted from exactly what this
    draft would be (see :func:`key_of`), and otherwise drafts and discards the speculation."""

    async def draft_response(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        pending = state.speculation
        if pending and pending["key"] == key_of(state, runtime.context):
            annotate(runtime.context, stage="response", round=state.round("response") + 1, speculation="used")
            return {**pending["update"], "speculation": None}
        update = await draft(state, runtime)
        if not pending:
            return update
        return {**update, "speculation": None, **_waste(_pending_usage(state))}

    return draft_response
