"""LangGraph's server (`langgraph dev`, what Studio talks to) loads langgraph.json (the graph by module path,
its settings from .env) and runs SPRI: driven with langgraph_sdk, used as a RemoteGraph inside another
graph, restarted with its threads kept, and never warning about checkpoint types it does not know."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Iterator
from typing import Any, TypedDict

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.pregel.remote import RemoteGraph
from langgraph_sdk import get_client

from tests.support import ROOT
from tests.support.fakes import RUN_REFINING_EACH_STAGE_ONCE
from tests.support.langgraph_dev import LANGGRAPH, DevServer, langgraph_dev
from tests.support.policies import deterministic


@pytest.fixture
def studio(tmp_path) -> Iterator[DevServer]:
    with langgraph_dev(tmp_path, deterministic) as server:
        yield server


def test_langgraph_json_validates_without_warnings(tmp_path):
    shutil.copy(ROOT / "langgraph.json", tmp_path / "langgraph.json")
    done = subprocess.run([str(LANGGRAPH), "validate"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "is valid" in done.stdout, done.stdout + done.stderr
    assert "warning" not in (done.stdout + done.stderr).lower()


async def test_studio_runs_every_stage_and_keeps_history(studio):
    client = get_client(url=studio.url)
    (assistant,) = await client.assistants.search(graph_id="spri")
    assert assistant["description"].startswith("SPRI (Situated-PRInciples)")
    schemas = await client.assistants.get_schemas(assistant["assistant_id"])
    context = schemas["context_schema"]["properties"]
    for field in ("model", "critic_model", "min_score", "max_rounds", "profile", "method"):
        assert context[field].get("description"), field
    assert "query" in schemas["input_schema"]["properties"]

    thread = await client.threads.create()
    nodes = []
    async for part in client.runs.stream(
        thread["thread_id"],
        "spri",
        input={"query": "How do I learn to swim as an adult?"},
        context={"max_rounds": 2},
        stream_mode="updates",
    ):
        if part.event == "updates":
            nodes += list(part.data)
    assert nodes == RUN_REFINING_EACH_STAGE_ONCE

    state = await client.threads.get_state(thread["thread_id"])
    values = state["values"]
    assert values["response"] == "revised response text" and values["calls"] == 8
    assert values["stop_reason"] == {"principles": "accepted", "response": "accepted"}
    history = await client.threads.get_history(thread["thread_id"], limit=50)
    assert len(history) >= len(RUN_REFINING_EACH_STAGE_ONCE)


async def test_studio_review_interrupt_and_resume_across_a_restart(studio):
    client = get_client(url=studio.url)
    thread = await client.threads.create()
    await client.runs.wait(thread["thread_id"], "spri", input={"query": "Q?"}, context={"review_principles": True})
    state = await client.threads.get_state(thread["thread_id"])
    assert state["next"] == ["review_principles"]
    assert state["tasks"][0]["interrupts"][0]["value"]["principles"] == "revised principles text"

    studio.stop()  # the paused thread is persisted (.langgraph_api/) and read back by the next server
    studio.start()
    client = get_client(url=studio.url)
    await client.runs.wait(
        thread["thread_id"],
        "spri",
        command={"resume": {"action": "edit", "principles": "1. Go."}},
        context={"review_principles": True},
    )
    values = (await client.threads.get_state(thread["thread_id"]))["values"]
    assert values["principles"] == "1. Go." and values["review"] == "edited"
    await client.runs.wait(thread["thread_id"], "spri", input={"query": "Another on the same thread?"})
    assert len(await client.threads.get_history(thread["thread_id"], limit=100)) > 10


class Conversation(TypedDict, total=False):
    query: str
    response: str
    principles: str
    calls: int
    note: str


async def test_remote_graph_as_a_subgraph_of_another_graph(studio):
    async def introduce(state: Conversation) -> dict[str, Any]:
        return {"note": f"asked: {state['query']}"}

    builder = StateGraph(Conversation)
    builder.add_node("introduce", introduce)
    builder.add_node("spri", RemoteGraph("spri", url=studio.url))  # SPRI on the server, as a subgraph
    builder.add_edge(START, "introduce")
    builder.add_edge("introduce", "spri")
    builder.add_edge("spri", END)
    parent = builder.compile(checkpointer=InMemorySaver())

    config = {"configurable": {"thread_id": str(uuid.uuid4())}}  # the server wants UUID thread ids
    seen = []
    async for namespace, update in parent.astream({"query": "How do I start journaling?"}, config, subgraphs=True):
        seen += [(namespace[0].split(":")[0] if namespace else "", node) for node in update]
    final = (await parent.aget_state(config)).values
    assert final["response"] == "revised response text" and final["calls"] == 8
    assert final["note"] == "asked: How do I start journaling?"
    assert ("", "introduce") in seen and ("", "spri") in seen
    assert ("spri", "judge_principles") in seen and ("spri", "finalize") in seen  # the remote's own steps

    client = get_client(url=studio.url)
    remote_state = await client.threads.get_state(config["configurable"]["thread_id"])
    assert remote_state["values"]["response"] == "revised response text"  # the run lives on the server's thread
