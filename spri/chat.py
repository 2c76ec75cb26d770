"""SPRI inside chat agents: as a node of a MessagesState graph, or as a tool an agent can call.

    from spri.chat import spri_node, spri_tool
    builder.add_node("spri", spri_node(model="openai:gpt-4o-mini"))   # answers the last human message
    agent = create_agent(model, tools=[spri_tool(model="openai:gpt-4o-mini")])

Both run the SPRI graph as a *subgraph* of the calling graph: its stages stream with
``subgraphs=True`` and its state is saved by the parent's checkpointer.
"""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage, AnyMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import StructuredTool

from spri.api import Context, InputError, Output, Result, build_graph, make_context


def _result_metadata(result: Output) -> dict[str, Any]:
    return {
        "spri": {
            "principles": result.principles,
            "scores": {stage: [c.score for c in critiques] for stage, critiques in result.critiques.items()},
            "stop_reason": result.stop_reason,
            "calls": result.calls,
            "profile": result.profile,
            "method": result.method,
        }
    }


async def _run_subgraph(inputs: dict[str, Any], ctx: Context, config: RunnableConfig | None) -> Output:
    graph = build_graph(None)  # no checkpointer of its own: it inherits the parent's
    values = await graph.ainvoke({**inputs}, config, context=ctx)
    return Output.model_validate(values)


def spri_node(context: Context | dict[str, Any] | None = None, **options: Any) -> Any:
    """A node for a graph whose state has ``messages``: it answers the last human message with SPRI
    and appends an AIMessage; principles, scores and stop reasons go in its ``response_metadata``."""
    ctx = make_context(context, **options)

    async def spri(state: dict[str, Any] | Any, config: RunnableConfig) -> dict[str, Any]:
        messages: list[AnyMessage] = state["messages"] if isinstance(state, dict) else state.messages
        human = next((m for m in reversed(messages) if m.type == "human"), None)
        if human is None or not human.text.strip():
            raise InputError("the SPRI node needs a human message to answer")
        result = await _run_subgraph({"query": human.text}, ctx, config)
        reply = AIMessage(content=result.response or "", response_metadata=_result_metadata(result), name="spri")
        return {"messages": [reply]}

    return spri


def spri_tool(context: Context | dict[str, Any] | None = None, *, name: str = "spri", **options: Any) -> StructuredTool:
    """SPRI as a tool: the agent passes the request (and optionally a response goal); the tool returns
    the principle-guided response, with the whole result as the tool message's artifact."""
    ctx = make_context(context, **options)

    async def call(config: RunnableConfig, query: str, goal: str | None = None) -> tuple[str, Any]:
        result = await _run_subgraph({"query": query, "goal": goal}, ctx, config)
        return result.response or "", Result(**result.model_dump()).model_dump(mode="json")

    return StructuredTool.from_function(
        coroutine=call,
        name=name,
        description=(
            "Answer a request carefully: first write principles specific to this request, have them "
            "critiqued and refined, then write a response that follows them. Use for advice, sensitive or "
            "open-ended requests. Input: the user's request, optionally a goal for the response."
        ),
        response_format="content_and_artifact",
    )


def as_tool(**options: Any) -> StructuredTool:
    """Shorthand for :func:`spri_tool`."""
    return spri_tool(**options)
