"""Checkpoints hold only plain values: any LangGraph checkpointer (no allowlist of ours) reads SPRI's
threads without warnings about unregistered types."""

from __future__ import annotations

import logging
import warnings

from langgraph.checkpoint.memory import InMemorySaver

from spri import Context, build_graph
from tests.support.fakes import critique, scripted


async def test_a_plain_inmemory_saver_reads_spri_threads_without_warnings(caplog):
    graph = build_graph(InMemorySaver())  # LangGraph's default serializer, no allowlist of ours
    config = {"configurable": {"thread_id": "plain"}}
    model = scripted("P1", critique(2, "Vague."), "P2", critique(5), "R1", critique(4))
    with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.DEBUG):
        warnings.simplefilter("always")
        await graph.ainvoke({"query": "Q?"}, config, context=Context(model=model))
        history = [snapshot async for snapshot in graph.aget_state_history(config)]
        state = await graph.aget_state(config)
    assert len(history) > 5 and state.values["critiques"]["principles"][0]["score"] == 2
    noise = [str(w.message) for w in caught] + [r.getMessage() for r in caplog.records]
    assert not [line for line in noise if "unregistered type" in line or "Blocked deserialization" in line]
