"""The chat graph ``spri_chat`` through LangGraph's server (`langgraph dev`) and `langgraph_sdk`, as Agent
Chat UI or a `useStream` client drives it: messages in, an AI message out with the principles and scores
in its metadata, each step a custom event, a review paused in the human-in-the-loop format, and a second
turn on the same thread answered with the first in view; the `spri` graph takes a conversation as its
input `messages`. The server's log must hold no checkpoint-type warnings (the fixture checks)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from langgraph_sdk import get_client

from tests.support.langgraph_dev import DevServer, langgraph_dev
from tests.support.openai_server import is_critic_request
from tests.support.policies import deterministic


@pytest.fixture(scope="module")
def studio(tmp_path_factory) -> Iterator[DevServer]:
    with langgraph_dev(tmp_path_factory.mktemp("chat"), deterministic) as server:
        yield server


def prompt(request) -> str:
    return "\n".join(m.get("content") or "" for m in request["messages"])


async def test_a_conversation_over_two_turns(studio):
    client = get_client(url=studio.url)
    thread_id = (await client.threads.create())["thread_id"]
    first = {"messages": [{"type": "human", "content": "My landlord kept my deposit without a reason."}]}
    steps, streamed = [], []
    async for part in client.runs.stream(thread_id, "spri_chat", input=first, stream_mode=["custom", "messages-tuple"]):
        if part.event == "custom":
            steps.append((part.data["step"], part.data["stage"]))
        elif part.event == "messages":
            streamed.append(part.data[0]["content"])
    assert ("judge", "principles") in steps and steps[-1] == ("finalize", None)
    assert streamed and set(streamed) == {"revised response text"}  # only the reply is a chat message

    state = await client.threads.get_state(thread_id)
    human, reply = state["values"]["messages"]
    assert human["type"] == "human" and reply["type"] == "ai" and reply["content"] == "revised response text"
    spri = reply["response_metadata"]["spri"]
    assert spri["principles"] == "revised principles text"
    assert spri["scores"] == {"principles": [2, 5], "response": [2, 5]} and spri["calls"] == 8

    start = len(studio.model.requests)
    second = {"messages": [{"type": "human", "content": "And if he ignores my letter?"}]}
    final = await client.runs.wait(thread_id, "spri_chat", input=second)
    assert [m["type"] for m in final["messages"]] == ["human", "ai", "human", "ai"]
    principles_draft = next(r for r in studio.model.requests[start:] if not is_critic_request(r))
    shown = prompt(principles_draft)
    assert "User: My landlord kept my deposit without a reason.\n\nAssistant: revised response text" in shown
    assert "Request:\nAnd if he ignores my letter?" in shown


async def test_the_spri_graph_takes_a_conversation_too(studio):
    client = get_client(url=studio.url)
    thread_id = (await client.threads.create())["thread_id"]
    start = len(studio.model.requests)
    messages = [
        {"role": "user", "content": "My landlord kept my deposit without a reason."},
        {"role": "assistant", "content": "Write him a formal letter."},
        {"role": "user", "content": "And if he ignores my letter?"},
    ]
    final = await client.runs.wait(thread_id, "spri", input={"messages": messages})
    assert final["response"] == "revised response text"
    shown = prompt(studio.model.requests[start])
    assert "User: My landlord kept my deposit without a reason.\n\nAssistant: Write him a formal letter." in shown
    assert "Request:\nAnd if he ignores my letter?" in shown


async def test_a_review_pauses_the_chat_in_the_hitl_format(studio):
    client = get_client(url=studio.url)
    assistant = await client.assistants.create(graph_id="spri_chat", context={"review_principles": True})
    thread_id = (await client.threads.create())["thread_id"]
    first = {"messages": [{"type": "human", "content": "My landlord kept my deposit without a reason."}]}
    await client.runs.wait(thread_id, assistant["assistant_id"], input=first)
    state = await client.threads.get_state(thread_id)
    request = state["tasks"][0]["interrupts"][0]["value"]
    (action,) = request["action_requests"]
    assert action["name"] == "review_principles" and action["args"] == {"principles": "revised principles text"}
    assert request["review_configs"] == [
        {"action_name": "review_principles", "allowed_decisions": ["approve", "edit", "reject"]}
    ]
    approve = {"decisions": [{"type": "approve"}]}
    final = await client.runs.wait(thread_id, assistant["assistant_id"], command={"resume": approve})
    reply = final["messages"][-1]
    assert reply["content"] == "revised response text" and reply["response_metadata"]["spri"]["calls"] == 8
