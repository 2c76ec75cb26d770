"""The chat graph (``spri_chat``): a conversation in, SPRI's reply appended as an AI message with the
principles and scores in its metadata; later turns see the earlier ones; each step is a custom stream
event at the chat's level, the model calls behind the reply are not streamed as messages, and a review
pauses the chat in the human-in-the-loop format."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.types import Command

from spri import Context
from spri.graph.chat import build_chat_graph
from spri.state import InputError
from spri.storage import open_checkpointer
from tests.support.fakes import critique, is_critic_prompt, scripted

CONFIG = {"configurable": {"thread_id": "chat"}}
STEPS = [
    ("begin", None, None),
    ("draft", "principles", None),
    ("judge", "principles", 5),
    ("draft", "response", None),
    ("judge", "response", 5),
    ("finalize", None, None),
]


def accepting():
    return scripted(default=lambda m: critique(5, "Good.") if is_critic_prompt(m) else "1. Set a deadline.")


@pytest.mark.parametrize("where", ["memory", "sqlite"])
async def test_two_turns_on_a_thread_the_second_sees_the_first(where, tmp_path, serde_events):
    model = accepting()
    context = Context(model=model)
    async with open_checkpointer("memory" if where == "memory" else str(tmp_path / "chat.sqlite")) as saver:
        chat = build_chat_graph(saver)
        first = await chat.ainvoke(
            {"messages": [HumanMessage("My landlord kept my deposit.")]}, CONFIG, context=context
        )
        reply = first["messages"][-1]
        assert isinstance(reply, AIMessage) and reply.text == "1. Set a deadline."
        assert reply.response_metadata["spri"]["scores"] == {"principles": [5], "response": [5]}
        assert reply.response_metadata["spri"]["principles"] == "1. Set a deadline."
        second = await chat.ainvoke(
            {"messages": [HumanMessage("And if he ignores my letter?")]}, CONFIG, context=context
        )
        history = [s async for s in chat.aget_state_history(CONFIG)]
    assert [m.type for m in second["messages"]] == ["human", "ai", "human", "ai"]
    prompt = "\n".join(m.text for m in model.calls[4])  # the second turn's principles draft
    assert "User: My landlord kept my deposit.\n\nAssistant: 1. Set a deadline." in prompt
    assert "Request:\nAnd if he ignores my letter?" in prompt
    assert len(model.calls) == 8 and len(history) > 4
    assert [e for e in serde_events if e.get("kind", "").startswith("msgpack")] == []


async def test_each_step_is_a_custom_event_and_only_the_reply_is_a_streamed_message():
    chat = build_chat_graph()
    custom, streamed = [], []
    async for mode, chunk in chat.astream(
        {"messages": [HumanMessage("My landlord kept my deposit.")]},
        context=Context(model=accepting()),
        stream_mode=["custom", "messages"],
    ):
        if mode == "custom":
            custom.append((chunk["step"], chunk["stage"], chunk["score"]))
        else:
            streamed.append(chunk[0].text)
    assert custom == STEPS
    assert streamed == ["1. Set a deadline."]  # no draft or critique reaches the chat as a message


async def test_a_review_pauses_the_chat_in_the_hitl_format_and_resumes_with_the_decision():
    model = accepting()
    context = Context(model=model, review_principles=True)
    async with open_checkpointer("memory") as saver:
        chat = build_chat_graph(saver)
        paused = await chat.ainvoke(
            {"messages": [HumanMessage("My landlord kept my deposit.")]}, CONFIG, context=context
        )
        (interrupt,) = paused["__interrupt__"]
        (action,) = interrupt.value["action_requests"]
        assert action["name"] == "review_principles" and action["args"] == {"principles": "1. Set a deadline."}
        assert interrupt.value["review_configs"][0]["allowed_decisions"] == ["approve", "edit", "reject"]
        edit = {"type": "edit", "edited_action": {"name": "review_principles", "args": {"principles": "1. Be firm."}}}
        done = await chat.ainvoke(Command(resume={"decisions": [edit]}), CONFIG, context=context)
    assert done["messages"][-1].response_metadata["spri"]["principles"] == "1. Be firm."
    assert len(model.calls) == 4  # the principles were not drafted again after the pause


async def test_a_conversation_without_a_human_message_is_refused_before_any_model_call():
    model = scripted()
    with pytest.raises(InputError, match=r"^messages hold no user turn with text"):
        await build_chat_graph().ainvoke({"messages": [AIMessage("Hello")]}, context=Context(model=model))
    assert model.calls == []
