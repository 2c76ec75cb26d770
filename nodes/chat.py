"""SPRI as a chat: the node of the ``spri_chat`` graph that answers a conversation's last human message
with the SPRI graph (the messages before it as the conversation so far) and appends the reply.

The reply is an AIMessage whose ``response_metadata["spri"]`` holds the principles, the scores of each
stage, the stop reasons and the calls; each SPRI step reaches the chat's client as a ``custom`` stream
event (``{"stage", "step", "round", "score", "stop_reason"}``), and a review of the principles
(``review_principles``) pauses the chat with SPRI's human-in-the-loop interrupt. The drafts' and
critiques' tokens are not streamed as messages: the chat shows the reply, not the model calls behind it.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, Protocol

from langchain_core.messages import AIMessage
from langchain_core.runnables import Runnable, RunnableConfig
from langgraph.config import get_stream_writer
from langgraph.constants import TAG_NOSTREAM
from langgraph.runtime import Runtime
from pydantic import ValidationError

from spri.state import Context, Input, InputError, Output
from spri.state.chat import ChatState
from spri.state.errors import problem_text


def result_metadata(result: Output) -> dict[str, Any]:
    """What a reply carries besides its text: ``{"spri": {principles, scores, stop_reason, calls, ...}}``."""
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


def reply(result: Output) -> AIMessage:
    """The response as the chat's next message, the run's principles and scores in its metadata."""
    return AIMessage(content=result.response or "", response_metadata=result_metadata(result), name="spri")


def conversation_input(messages: list[Any]) -> dict[str, Any]:
    """The SPRI input for a conversation: its last human message is the query, the messages before it
    the conversation so far, kept as plain turns."""
    try:
        return Input.model_validate({"messages": messages}).model_dump()  # the query is the last human message
    except ValidationError as exc:
        raise InputError("; ".join(problem_text(error) for error in exc.errors())) from None


class ChatNode(Protocol):
    """The chat graph's node: ``async (state, runtime) -> update``, as LangGraph's ``add_node`` takes it."""

    def __call__(self, state: ChatState, runtime: Runtime[Context]) -> Awaitable[dict[str, Any]]: ...


def answering(spri: Runnable) -> ChatNode:
    """The chat node: ``spri`` (the compiled SPRI graph) answers the conversation in the state."""

    async def answer(state: ChatState, runtime: Runtime[Context]) -> dict[str, Any]:
        writer = get_stream_writer()
        values: dict[str, Any] = {}
        config: RunnableConfig = {"tags": [TAG_NOSTREAM]}  # the model calls inside are not the chat's messages
        stream = spri.astream(
            conversation_input(state["messages"]), config, context=runtime.context, stream_mode=["custom", "values"]
        )
        async for mode, chunk in stream:
            if mode == "custom":
                writer(chunk)  # each step, at the chat's own level (no subgraph streaming needed)
            else:
                values = chunk
        return {"messages": [reply(Output.model_validate(values))]}

    return answer
