"""Speculative stage-2 drafting (``Context.speculate``): while the critic judges a principles draft,
``judge_principles`` also drafts the response from that same draft, as two LangGraph tasks of the one
node (``judge`` and ``speculate_response``, each a run of its own in traces).

- Each task's result is saved in the checkpoint as soon as it ends, so a run killed in between and
  continued makes neither call again (LangGraph's durable execution of tasks).
- When the critic's verdict means another refinement, the speculation is called off: its model call is
  cancelled rather than waited for, or, if it already ended, discarded.
- Otherwise the speculation is kept apart from the drafts (``State.speculation``) with a key of
  everything the response draft depends on: the settings and the principles it follows.
  ``draft_response`` uses it when its key still holds (the principles stage ended on that draft:
  accepted, or stopped at max_rounds or on an unreadable critique); the result is then exactly what
  drafting there would have given, one model latency earlier. Otherwise it is discarded and counted.
- Every discarded speculation's calls and tokens go to ``speculative_wasted_usage``, and its calls to
  ``calls_per_role['base']`` (finalize reports them in ``calls``, ``tokens`` and ``speculative_wasted``).

Only for methods that draft principles and then draft a response (``plan.principles == 'draft'``),
and never with ``review_principles`` (the human may change the principles, so the draft could not be
used). A speculation that fails is discarded: ``draft_response`` then drafts (and retries) as usual.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Callable
from typing import Any, cast

from langgraph.func import task
from langgraph.runtime import Runtime
from pydantic_core import to_jsonable_python

from spri import models
from spri.nodes.loop import Node
from spri.nodes.profiles import plan_of
from spri.nodes.tracing import annotate, describe
from spri.state import Context, Critique, State, Usage, stop_reason

JUDGE_TASK, SPECULATION_TASK = "judge", "speculate_response"
"""The names of the two tasks of a speculating ``judge_principles`` (in traces and the updates stream)."""


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


def _discarding(update: dict[str, Any], pending: dict[str, Any] | None, wasted: Usage) -> dict[str, Any]:
    """``update`` with the speculation now pending (or none), recording the calls and tokens of those
    discarded (the base model's calls) beside the calls it reports itself."""
    if not wasted.calls:
        return {**update, "speculation": pending}
    roles = dict(update.get("calls_per_role") or {})
    roles["base"] = roles.get("base", 0) + wasted.calls
    return {**update, "speculation": pending, "speculative_wasted_usage": wasted.model_dump(), "calls_per_role": roles}


def _usage_of(update: dict[str, Any]) -> Usage:
    """What a response draft's update spent."""
    return Usage.model_validate(update["usage"]["response"])


def _pending_usage(state: State) -> Usage:
    """What the pending speculation (if any) spent."""
    return _usage_of(state.speculation["update"]) if state.speculation else Usage(calls=0)


def wasted_usage(state: State) -> Usage:
    """Calls and tokens of every speculation that was not used: those discarded, and one still pending
    at the end (which routing never leaves: draft_response uses or discards it)."""
    discarded = Usage.model_validate(state.speculative_wasted_usage) + Usage.model_validate(state.speculative_waste)
    return discarded + _pending_usage(state)


def _refines(state: State, ctx: Context, update: dict[str, Any]) -> bool:
    """Whether the principles critique in ``update`` sends the draft back for refinement."""
    new = [c if isinstance(c, Critique) else Critique.model_validate(c) for c in update["critiques"]["principles"]]
    return stop_reason([*state.critiques.get("principles", []), *new], ctx.min_score, ctx.max_rounds) is None


async def _settled(
    drafting: Any, tally: models.Speculation, call_off: bool
) -> tuple[dict[str, Any] | None, Usage, str]:
    """The speculation's update if it is kept, what it spent if it is not, and what became of it: waited
    for unless ``call_off`` (then cancelled if still under way, or discarded if done); a failed one is
    dropped."""
    if call_off and not drafting.done():
        drafting.cancel()
    try:
        update = await drafting
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            raise  # this node itself is being cancelled
        return None, Usage(calls=tally.calls), "called off"
    except Exception as error:
        return None, Usage(calls=tally.calls), f"failed: {type(error).__name__}"
    if call_off:
        return None, _usage_of(update), "discarded"
    return update, Usage(calls=0), "kept"


def judging_beside_speculation(judge: Node, draft: Node) -> Node:
    """``judge_principles``: ``judge``, and with ``speculate`` the response ``draft`` as a speculation
    beside it (its calls tagged ``spri:speculative`` and hidden from the messages stream), kept for
    ``draft_response`` or called off by the verdict. The node's retry policy retries both tasks."""
    # A task is called with the node's state; LangGraph passes it the runtime and returns a future.
    judging: Callable[..., Any] = task(name=JUDGE_TASK)(cast(Any, judge))
    speculating: Callable[..., Any] = task(name=SPECULATION_TASK)(cast(Any, draft))

    async def judge_principles(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        ctx = runtime.context
        if not speculates(ctx):
            return await judge(state, runtime)
        stale = _pending_usage(state)  # drafted from principles that were then refined
        with models.speculative() as tally:
            drafting = speculating(state)
        try:
            update = await judging(state)
        except BaseException:
            drafting.cancel()
            raise
        kept, dropped, outcome = await _settled(drafting, tally, call_off=_refines(state, ctx, update))
        describe(ctx, speculation=outcome)
        if kept is None:
            return _discarding(update, None, stale + dropped)
        pending = {"key": key_of(state, ctx), "update": to_jsonable_python(kept)}
        return _discarding(update, pending, stale)

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
        return _discarding(update, None, _pending_usage(state))

    return draft_response
