"""Checkpoints opened by spri deserialize LangGraph's safe types and our two state classes, nothing else."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from pydantic import BaseModel

from spri import arun
from spri.graph import build_graph
from spri.storage import checkpoint_serde, open_checkpointer
from tests.support.fakes import critique, scripted


@pytest.mark.parametrize("where", ["memory", "sqlite"])
async def test_pause_and_resume_read_only_registered_types(where, tmp_path, serde_events):
    db = "memory" if where == "memory" else str(tmp_path / "runs.sqlite")
    model = scripted("P1", critique(3), "P2", critique(5), "R1", critique(5))
    async with open_checkpointer(db) as saver:
        paused = await arun("Q?", model=model, review_principles=True, checkpointer=saver, thread_id="t")
        assert paused.status == "interrupted"
        done = await arun(None, model=model, checkpointer=saver, thread_id="t", resume="approve")
        # the history carries every step's pending writes: the Critique and Usage objects nodes returned
        history = [s async for s in build_graph(saver).aget_state_history({"configurable": {"thread_id": "t"}})]
        state = history[0]
    assert done.status == "done" and [c.score for c in done.critiques["principles"]] == [3, 5]
    assert state.values["usage"]["principles"]["calls"] == 4
    assert [e for e in serde_events if e.get("kind", "").startswith("msgpack")] == []


class Planted(BaseModel):  # a class a tampered checkpoint could name
    x: int = 1


def test_a_class_outside_the_allowlist_is_not_instantiated(serde_events):
    serde = checkpoint_serde()
    value = serde.loads_typed(serde.dumps_typed({"v": Planted()}))["v"]
    assert not isinstance(value, Planted)
    assert [e["kind"] for e in serde_events] == ["msgpack_blocked"]


@pytest.mark.parametrize("where", ["memory", "sqlite"])
async def test_a_conversation_is_checkpointed_as_plain_turns(where, tmp_path, serde_events):
    db = "memory" if where == "memory" else str(tmp_path / "runs.sqlite")
    model = scripted("P1", critique(5), "R1", critique(5))
    messages = [
        HumanMessage("My landlord kept my deposit."),
        AIMessage("Write him a letter."),
        HumanMessage("And then?"),
    ]
    async with open_checkpointer(db) as saver:
        # compact=False: every step's checkpoint is kept, to check each of them
        done = await arun({"messages": messages}, model=model, checkpointer=saver, thread_id="t", compact=False)
        history = [s async for s in build_graph(saver).aget_state_history({"configurable": {"thread_id": "t"}})]
    assert done.status == "done" and len(history) > 3
    for snapshot in history[:-1]:  # the last is the empty one before the input came
        assert snapshot.values["messages"] == [
            {"role": "user", "content": "My landlord kept my deposit."},
            {"role": "assistant", "content": "Write him a letter."},
            {"role": "user", "content": "And then?"},
        ]
    assert serde_events == []  # no type outside the allowlist, nothing blocked, no pickle
