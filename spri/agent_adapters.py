"""SPRI inside chat agents: as a node of a MessagesState graph, or as a tool an agent can call.

    from spri.agent_adapters import spri_node, spri_tool
    builder.add_node("spri", spri_node(model="openai:gpt-4o-mini"))   # answers the last human message
    agent = create_agent(model, tools=[spri_tool(model="openai:gpt-4o-mini")])

Both run the SPRI graph as a *subgraph* of the calling graph: its stages stream with
``subgraphs=True`` and its state is saved by the parent's checkpointer. Both work from synchronous
(``invoke``) and asynchronous (``ainvoke``) parents.
"""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage, AnyMessage
from langchain_core.runnables import RunnableConfig, RunnableLambda
from langchain_core.tools import StructuredTool

from spri.api import Context, InputError, Output, Result, arun_subgraph, make_context, run_subgraph


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


def _question(state: dict[str, Any] | Any) -> dict[str, Any]:
    messages: list[AnyMessage] = state["messages"] if isinstance(state, dict) else state.messages
    human = next((m for m in reversed(messages) if m.type == "human"), None)
    if human is None or not human.text.strip():
        raise InputError("the SPRI node needs a human message to answer")
    return {"query": human.text}


def _reply(result: Output) -> dict[str, Any]:
    message = AIMessage(content=result.response or "", response_metadata=_result_metadata(result), name="spri")
    return {"messages": [message]}


def spri_node(context: Context | dict[str, Any] | None = None, **options: Any) -> RunnableLambda:
    """A node for a graph whose state has ``messages``: it answers the last human message with SPRI
    and appends an AIMessage; principles, scores and stop reasons go in its ``response_metadata``."""
    ctx = make_context(context, **options)

    def spri(state: dict[str, Any] | Any, config: RunnableConfig) -> dict[str, Any]:
        return _reply(run_subgraph(_question(state), ctx, config))

    async def aspri(state: dict[str, Any] | Any, config: RunnableConfig) -> dict[str, Any]:
        return _reply(await arun_subgraph(_question(state), ctx, config))

    return RunnableLambda(spri, afunc=aspri, name="spri")


def spri_tool(context: Context | dict[str, Any] | None = None, *, name: str = "spri", **options: Any) -> StructuredTool:
    """SPRI as a tool: the agent passes the request (and optionally a response goal); the tool returns
    the principle-guided response, with the whole result as the tool message's artifact."""
    ctx = make_context(context, **options)

    def artifact(result: Output) -> tuple[str, Any]:
        return result.response or "", Result(**result.model_dump()).model_dump(mode="json")

    def call(config: RunnableConfig, query: str, goal: str | None = None) -> tuple[str, Any]:
        return artifact(run_subgraph({"query": query, "goal": goal}, ctx, config))

    async def acall(config: RunnableConfig, query: str, goal: str | None = None) -> tuple[str, Any]:
        return artifact(await arun_subgraph({"query": query, "goal": goal}, ctx, config))

    return StructuredTool.from_function(
        func=call,
        coroutine=acall,
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
