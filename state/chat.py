"""The chat graph's state: a conversation as chat clients of LangGraph's server send and read it.

Its own module, so the run's schema (and ``spri --help``, which reads it) does not load LangGraph.
"""

from __future__ import annotations

from typing import Annotated

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages
from typing_extensions import TypedDict


class ChatState(TypedDict):
    """A conversation, oldest message first (LangChain messages, appended by LangGraph's ``add_messages``)."""

    messages: Annotated[list[AnyMessage], add_messages]
