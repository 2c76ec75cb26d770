"""SPRI as a LangGraph state machine. Wiring only: the steps live in ``spri.nodes``.

    START ─▶ begin ─┬─▶ draft_principles ─▶ judge_principles ─┬─▶ refine_principles ─▶ judge_principles
                    │                                         └─▶ (review_principles: human, opt-in) ─▶ draft_response
                    │                     (a rejection: review_principles ─▶ refine_principles ─▶ review_principles)
                    └─(principles given, or none)───────────────▶ draft_response
    draft_response ─┬─▶ judge_response ─┬─▶ refine_response ─┬─▶ judge_response
                    │                   └─▶ finalize         ├─▶ refine_response (fixed passes, no critic)
                    ├─(no critic)─▶ refine_response          └─▶ finalize ─▶ END
                    └─(one call)──▶ finalize

Routers read the method's row (``plan_of``: principles source, who judges the response, fixed passes,
a last refinement) and the Context (min_score, max_rounds) and the stage's critiques; they make no
model calls.

With ``speculate``, judge_principles also drafts the response from the principles it judges (a task
``speculate_response`` beside its ``judge`` task): draft_response then uses that draft
(spri.nodes.speculation) or drafts anew.
"""

from __future__ import annotations

from functools import cache
from typing import Any, Literal

from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime
from langgraph.types import Checkpointer

from spri.models import MODEL_CALL_RETRY
from spri.nodes import (
    begin,
    draft_principles,
    draft_response,
    finalize,
    judge_principles,
    judge_response,
    refine_principles,
    refine_response,
    review_principles,
)
from spri.nodes.profiles import plan_of
from spri.state import Context, Input, Output, State

SpriGraph = CompiledStateGraph[State, Context, Any, Output]
"""The compiled graph; its input is an :class:`Input` or its fields as a dict."""


async def after_begin(state: State, runtime: Runtime[Context]) -> Literal["draft_principles", "draft_response"]:
    """Stage 1 runs only for methods that write their own principles."""
    return "draft_principles" if plan_of(runtime.context).principles == "draft" else "draft_response"


async def after_judging_principles(
    state: State, runtime: Runtime[Context]
) -> Literal["refine_principles", "review_principles", "draft_response"]:
    if state.needs_refinement("principles", runtime.context):
        return "refine_principles"
    return "review_principles" if runtime.context.review_principles else "draft_response"


async def after_refining_principles(
    state: State, runtime: Runtime[Context]
) -> Literal["judge_principles", "review_principles"]:
    """A refinement the reviewer asked for (by rejecting) goes straight back to the reviewer."""
    return "review_principles" if state.review == "rejected" else "judge_principles"


async def after_writing_response(
    state: State, runtime: Runtime[Context]
) -> Literal["judge_response", "refine_response", "finalize"]:
    """After a draft or refinement of the response: judge it (unless the stage used its critiques, as
    after a method's last refinement), or run the next unjudged pass, or finish."""
    plan = plan_of(runtime.context)
    if plan.critic != "none":
        return "judge_response" if state.round("response") < runtime.context.max_rounds else "finalize"
    return "refine_response" if state.passes_left(plan) > 0 else "finalize"


async def after_judging_response(state: State, runtime: Runtime[Context]) -> Literal["refine_response", "finalize"]:
    ctx = runtime.context
    return "refine_response" if state.needs_refinement("response", ctx, plan_of(ctx)) else "finalize"


def build_graph(checkpointer: Checkpointer = None, *, name: str = "spri") -> SpriGraph:
    """The SPRI graph with ``checkpointer`` (None: no persistence, as Studio wants).

    The graph is compiled once per process; each call returns a cheap copy bound to the checkpointer."""
    return _compiled().copy(update={"checkpointer": checkpointer, "name": name})


@cache
def _compiled() -> SpriGraph:
    builder = StateGraph(State, context_schema=Context, input_schema=Input, output_schema=Output)
    builder.add_node("begin", begin)
    builder.add_node("draft_principles", draft_principles, retry_policy=MODEL_CALL_RETRY)
    builder.add_node("judge_principles", judge_principles, retry_policy=MODEL_CALL_RETRY)
    builder.add_node("refine_principles", refine_principles, retry_policy=MODEL_CALL_RETRY)
    builder.add_node("review_principles", review_principles, destinations=("draft_response", "refine_principles"))
    builder.add_node("draft_response", draft_response, retry_policy=MODEL_CALL_RETRY)
    builder.add_node("judge_response", judge_response, retry_policy=MODEL_CALL_RETRY)
    builder.add_node("refine_response", refine_response, retry_policy=MODEL_CALL_RETRY)
    builder.add_node("finalize", finalize)

    builder.add_edge(START, "begin")
    builder.add_conditional_edges("begin", after_begin)
    builder.add_edge("draft_principles", "judge_principles")
    builder.add_conditional_edges("judge_principles", after_judging_principles)
    builder.add_conditional_edges("refine_principles", after_refining_principles)
    builder.add_conditional_edges("draft_response", after_writing_response)
    builder.add_conditional_edges("judge_response", after_judging_response)
    builder.add_conditional_edges("refine_response", after_writing_response)
    builder.add_edge("finalize", END)
    return builder.compile(name="spri")


graph = build_graph()
"""Compiled without a checkpointer, for LangGraph Studio / `langgraph dev` (which brings its own)."""
