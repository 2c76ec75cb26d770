"""SPRI inside chat agents: as a node of a MessagesState graph, or as a tool an agent can call.

    from spri.agent_adapters import spri_node, spri_tool
    builder.add_node("spri", spri_node(model="openai:gpt-4o-mini"))   # answers the last human message
    agent = create_agent(model, tools=[spri_tool(model="openai:gpt-4o-mini")])

Both pass the conversation along: the node answers the graph's last human message with the messages
before it as context; the tool, called by a LangGraph agent, is given the agent's conversation
(LangGraph's ``InjectedState``, which the model never sees) besides the request the model wrote, and
called any other way, the request alone.

Both run the SPRI graph as a *subgraph* of the calling graph: its stages stream with
``subgraphs=True`` and its state is saved by the parent's checkpointer. Both work from synchronous
(``invoke``) and asynchronous (``ainvoke``) parents.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from langchain_core.runnables import RunnableConfig, RunnableLambda
from langchain_core.tools import StructuredTool

from spri.api import (
    Context,
    InjectedState,
    InputError,
    Output,
    Result,
    arun_subgraph,
    chat_reply,
    make_context,
    make_input,
    run_subgraph,
)


def _messages_of(state: Any) -> Sequence[Any]:
    """The messages of a graph's state (a dict or an object with ``messages``); none if it has none."""
    messages = state.get("messages") if isinstance(state, dict) else getattr(state, "messages", None)
    return messages or ()


def _conversation(state: dict[str, Any] | Any, ctx: Context) -> dict[str, Any]:
    """The run input for the last human message of the state's conversation, the messages before it
    as context (kept as plain turns, so the parent's checkpoints hold no message objects of ours)."""
    messages = _messages_of(state)
    if not any(m.type == "human" and m.text.strip() for m in messages):
        raise InputError("the SPRI node needs a human message to answer")
    return make_input({"messages": list(messages)}, ctx).model_dump()


def _reply(result: Output) -> dict[str, Any]:
    return {"messages": [chat_reply(result)]}


def spri_node(context: Context | dict[str, Any] | None = None, **options: Any) -> RunnableLambda:
    """A node for a graph whose state has ``messages``: it answers the last human message with SPRI,
    the messages before it as the conversation so far, and appends an AIMessage; principles, scores
    and stop reasons go in its ``response_metadata``."""
    ctx = make_context(context, **options)

    def spri(state: dict[str, Any] | Any, config: RunnableConfig) -> dict[str, Any]:
        return _reply(run_subgraph(_conversation(state, ctx), ctx, config))

    async def aspri(state: dict[str, Any] | Any, config: RunnableConfig) -> dict[str, Any]:
        return _reply(await arun_subgraph(_conversation(state, ctx), ctx, config))

    return RunnableLambda(spri, afunc=aspri, name="spri")


def _request(ctx: Context, query: str, goal: str | None, state: Any) -> dict[str, Any]:
    """The tool's run input: the request the agent wrote and, from a LangGraph agent, its conversation
    (the request then follows it, unless it is the conversation's last user turn)."""
    fields = {"query": query, "goal": goal, "messages": list(_messages_of(state)) or None}
    return make_input(fields, ctx).model_dump()


def spri_tool(context: Context | dict[str, Any] | None = None, *, name: str = "spri", **options: Any) -> StructuredTool:
    """SPRI as a tool: the agent passes the request (and optionally a response goal); the tool returns
    the principle-guided response, with the whole result as the tool message's artifact. Inside a
    LangGraph agent (``create_agent``, a ``ToolNode``) its conversation is the run's context."""
    ctx = make_context(context, **options)

    def artifact(result: Output) -> tuple[str, Any]:
        return result.response or "", Result(**result.model_dump()).model_dump(mode="json")

    def call(
        config: RunnableConfig, query: str, goal: str | None = None, state: Annotated[Any, InjectedState] = None
    ) -> tuple[str, Any]:
        return artifact(run_subgraph(_request(ctx, query, goal, state), ctx, config))

    async def acall(
        config: RunnableConfig, query: str, goal: str | None = None, state: Annotated[Any, InjectedState] = None
    ) -> tuple[str, Any]:
        return artifact(await arun_subgraph(_request(ctx, query, goal, state), ctx, config))

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
