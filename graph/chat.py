"""SPRI as a chat graph (``spri_chat`` in langgraph.json). Wiring only: the node is ``spri.nodes.chat``.

    START ─▶ answer ─▶ END       answer: the SPRI graph, run on the conversation's last human message

The state is a conversation (``messages``, LangChain's add_messages reducer), so chat clients that
speak LangGraph's server protocol (Agent Chat UI, ``useStream``) work with it as they are: a message in,
SPRI's reply appended; each later turn on the thread is answered with the earlier ones in view. The run
is configured by the same Context as the ``spri`` graph (an assistant's context in LangGraph's server).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Checkpointer

from spri.graph.graph import build_graph
from spri.nodes.chat import answering
from spri.state import Context
from spri.state.chat import ChatState


def build_chat_graph(checkpointer: Checkpointer = None) -> CompiledStateGraph[Any, Context, Any, Any]:
    """The chat graph with ``checkpointer`` (None: no persistence, as LangGraph's server wants)."""
    return _compiled().copy(update={"checkpointer": checkpointer})


@cache
def _compiled() -> CompiledStateGraph[Any, Context, Any, Any]:
    builder = StateGraph(ChatState, context_schema=Context)
    builder.add_node("answer", answering(build_graph(None)))
    builder.add_edge(START, "answer")
    builder.add_edge("answer", END)
    return builder.compile(name="spri_chat")


graph = build_chat_graph()
"""Compiled without a checkpointer, for LangGraph's server (`langgraph dev`), which brings its own."""
