"""SPRI inside chat agents (spri.agent_adapters): a MessagesState node and a tool, run as subgraphs of the parent."""

from __future__ import annotations

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, tools_condition

import spri
from spri.agent_adapters import spri_node, spri_tool
from tests.support.fakes import critique, is_critic_prompt, scripted

STAGES = {"begin", "draft_principles", "judge_principles", "draft_response", "judge_response", "finalize"}


def spri_model():
    return scripted(default=lambda m: critique(5, "Good.") if is_critic_prompt(m) else "1. Be honest. 2. Be kind.")


async def test_spri_as_a_node_answers_the_last_human_message_and_streams_its_stages():
    builder = StateGraph(MessagesState)
    builder.add_node("spri", spri_node(model=spri_model()))
    builder.add_edge(START, "spri")
    builder.add_edge("spri", END)
    saver = InMemorySaver()
    parent = builder.compile(checkpointer=saver)
    config = {"configurable": {"thread_id": "chat-1"}}

    seen_in_subgraph = set()
    async for namespace, chunk in parent.astream(
        {"messages": [HumanMessage("How do I apologise to a friend?")]}, config, stream_mode="updates", subgraphs=True
    ):
        if namespace:  # updates from inside SPRI
            assert namespace[0].startswith("spri:")
            seen_in_subgraph |= set(chunk)
    assert seen_in_subgraph >= STAGES

    state = await parent.aget_state(config)
    reply = state.values["messages"][-1]
    assert isinstance(reply, AIMessage) and reply.text == "1. Be honest. 2. Be kind."
    meta = reply.response_metadata["spri"]
    assert meta["scores"] == {"principles": [5], "response": [5]} and meta["calls"] == 4
    assert meta["principles"] == "1. Be honest. 2. Be kind."

    # the parent's checkpointer holds SPRI's own checkpoints, under the node's namespace
    namespaces = {
        c.config["configurable"]["checkpoint_ns"] for c in saver.list({"configurable": {"thread_id": "chat-1"}})
    }
    spri_namespaces = [ns for ns in namespaces if ns.startswith("spri:")]
    assert spri_namespaces
    inner = [c for c in saver.list({"configurable": {"thread_id": "chat-1", "checkpoint_ns": spri_namespaces[0]}})]
    assert any("drafts" in c.checkpoint["channel_values"] for c in inner)


async def test_spri_as_a_tool_of_a_tool_calling_agent():
    agent_model = GenericFakeChatModel(
        messages=iter(
            [
                AIMessage(
                    content="",
                    tool_calls=[{"name": "spri", "args": {"query": "Should I quit my job?"}, "id": "call-1"}],
                ),
                AIMessage(content="Based on careful thought: talk to your manager first."),
            ]
        )
    )
    tool = spri.as_tool(model=spri_model())

    async def agent(state: MessagesState):
        return {"messages": [await agent_model.ainvoke(state["messages"])]}

    builder = StateGraph(MessagesState)
    builder.add_node("agent", agent)
    builder.add_node("tools", ToolNode([tool]))
    builder.add_edge(START, "agent")
    builder.add_conditional_edges("agent", tools_condition)
    builder.add_edge("tools", "agent")
    graph = builder.compile(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "agent-1"}}

    stages = set()
    async for namespace, chunk in graph.astream(
        {"messages": [HumanMessage("Should I quit my job?")]}, config, stream_mode="updates", subgraphs=True
    ):
        if len(namespace) >= 1 and namespace[0].startswith("tools:"):
            stages |= set(chunk)
    assert stages >= STAGES

    messages = (await graph.aget_state(config)).values["messages"]
    tool_message = next(m for m in messages if isinstance(m, ToolMessage))
    assert tool_message.content == "1. Be honest. 2. Be kind."
    assert tool_message.artifact["principles"] == "1. Be honest. 2. Be kind." and tool_message.artifact["calls"] == 4
    assert messages[-1].content == "Based on careful thought: talk to your manager first."


def test_tool_schema_is_what_an_agent_sees():
    tool = spri_tool(model=spri_model())
    schema = tool.tool_call_schema.model_json_schema()
    assert set(schema["properties"]) == {"query", "goal"} and schema["required"] == ["query"]
    assert "principles" in tool.description


def _sync_parent(checkpointer):
    builder = StateGraph(MessagesState)
    builder.add_node("spri", spri_node(model=spri_model()))
    builder.add_edge(START, "spri")
    builder.add_edge("spri", END)
    return builder.compile(checkpointer=checkpointer)


def test_the_node_works_in_a_synchronous_graph_with_any_checkpointer(tmp_path):
    import sqlite3

    from langgraph.checkpoint.sqlite import SqliteSaver

    connection = sqlite3.connect(tmp_path / "sync.sqlite", check_same_thread=False)
    for saver in (InMemorySaver(), SqliteSaver(connection)):  # SqliteSaver has no async methods
        parent = _sync_parent(saver)
        config = {"configurable": {"thread_id": "sync-1"}}
        stages = set()
        for namespace, chunk in parent.stream(
            {"messages": [HumanMessage("How do I apologise?")]}, config, stream_mode="updates", subgraphs=True
        ):
            if namespace:
                stages |= set(chunk)
        assert stages >= STAGES
        reply = parent.get_state(config).values["messages"][-1]
        assert reply.text == "1. Be honest. 2. Be kind." and reply.response_metadata["spri"]["calls"] == 4
        namespaces = {c.config["configurable"]["checkpoint_ns"] for c in saver.list(config)}
        assert any(ns.startswith("spri:") for ns in namespaces), "SPRI's own steps are in the parent's checkpoints"


def test_the_tool_works_synchronously():
    tool = spri.as_tool(model=spri_model())
    message = tool.invoke(
        {"type": "tool_call", "name": "spri", "args": {"query": "Should I move abroad?"}, "id": "call-9"}
    )
    assert isinstance(message, ToolMessage) and message.content == "1. Be honest. 2. Be kind."
    assert message.artifact["calls"] == 4
    assert tool.invoke({"query": "Plain call?"}) == "1. Be honest. 2. Be kind."


def test_the_old_module_name_still_imports_with_a_deprecation_warning():
    import importlib
    import sys

    import spri.agent_adapters as adapters

    sys.modules.pop("spri.chat", None)
    with pytest.warns(DeprecationWarning, match="spri.agent_adapters"):
        old = importlib.import_module("spri.chat")
    assert (old.spri_node, old.spri_tool, old.as_tool) == (adapters.spri_node, adapters.spri_tool, adapters.as_tool)
