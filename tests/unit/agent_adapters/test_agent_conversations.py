"""SPRI inside chat agents sees the conversation: the node answers the last human message with the turns
before it, the tool gets a LangGraph agent's conversation through InjectedState (and the request
alone when called any other way)."""

from __future__ import annotations

from langchain.agents import create_agent
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, MessagesState, StateGraph

import spri
from spri.agent_adapters import spri_node, spri_tool
from spri.storage import checkpoint_serde
from tests.support.fakes import ScriptedToolCaller, critique, is_critic_prompt, scripted, tool_call

EARLIER = [HumanMessage("My landlord kept my deposit without a reason."), AIMessage("Write him a formal letter.")]


def spri_model():
    return scripted(default=lambda m: critique(5, "Good.") if is_critic_prompt(m) else "1. Set a deadline.")


def principles_prompt(model) -> str:
    return "\n".join(message.text for message in model.calls[0])


async def test_the_node_answers_a_follow_up_with_the_earlier_turns_in_view():
    model = spri_model()
    builder = StateGraph(MessagesState)
    builder.add_node("spri", spri_node(model=model))
    builder.add_edge(START, "spri")
    builder.add_edge("spri", END)
    saver = InMemorySaver(serde=checkpoint_serde())
    parent = builder.compile(checkpointer=saver)
    config = {"configurable": {"thread_id": "chat"}}
    await parent.ainvoke({"messages": [*EARLIER, HumanMessage("And if he ignores my letter?")]}, config)
    prompt = principles_prompt(model)
    assert "User: My landlord kept my deposit without a reason.\n\nAssistant: Write him a formal letter." in prompt
    assert "Request:\nAnd if he ignores my letter?" in prompt
    reply = (await parent.aget_state(config)).values["messages"][-1]
    assert reply.text == "1. Set a deadline." and reply.response_metadata["spri"]["calls"] == 4
    inner = [c for c in saver.list(None) if c.config["configurable"]["checkpoint_ns"].startswith("spri:")]
    saved = [c.checkpoint["channel_values"]["messages"] for c in inner if "messages" in c.checkpoint["channel_values"]]
    assert saved and all(turn.keys() == {"role", "content"} for turns in saved for turn in turns)


async def test_the_tool_in_a_langchain_agent_takes_the_agents_conversation():
    model = spri_model()
    agent_model = ScriptedToolCaller(
        replies=[tool_call("spri", query="What if my landlord ignores my letter?"), AIMessage("Done: see above.")]
    )
    agent = create_agent(agent_model, tools=[spri.as_tool(model=model)], checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "agent"}}
    out = await agent.ainvoke({"messages": [*EARLIER, HumanMessage("And if he ignores my letter?")]}, config)
    prompt = principles_prompt(model)
    assert "User: My landlord kept my deposit without a reason.\n\nAssistant: Write him a formal letter." in prompt
    assert "User: And if he ignores my letter?" in prompt  # the user's turn is context: the agent wrote the request
    assert "Request:\nWhat if my landlord ignores my letter?" in prompt
    assert [t.name for t in agent_model.tools] == ["spri"]
    assert "state" not in agent_model.tools[0].tool_call_schema.model_json_schema()["properties"]
    tool_message = next(m for m in out["messages"] if isinstance(m, ToolMessage))
    assert tool_message.content == "1. Set a deadline." and out["messages"][-1].text == "Done: see above."


def test_the_tool_called_outside_an_agent_takes_the_request_alone():
    model = spri_model()
    message = spri_tool(model=model).invoke(
        {"type": "tool_call", "name": "spri", "args": {"query": "And if he ignores my letter?"}, "id": "c"}
    )
    assert message.content == "1. Set a deadline."
    assert "conversation" not in principles_prompt(model)
