"""What a UI sees while a run goes: a custom event per step, and the base model's drafts as tokens
(critic calls are tagged nostream, so they never reach the messages stream)."""

from __future__ import annotations

from spri import Context, Token, Update, astream, build_graph
from tests.support.fakes import critique, scripted


def model():
    return scripted("P1", critique(3, "Vague."), "P2", critique(5), "R1", critique(4))


async def test_each_step_is_a_custom_event():
    graph = build_graph()
    events = [
        chunk async for chunk in graph.astream({"query": "Q?"}, context=Context(model=model()), stream_mode="custom")
    ]
    assert events == [
        {"stage": None, "step": "begin", "round": None, "score": None, "stop_reason": None},
        {"stage": "principles", "step": "draft", "round": 1, "score": None, "stop_reason": None},
        {"stage": "principles", "step": "judge", "round": 1, "score": 3, "stop_reason": None},
        {"stage": "principles", "step": "refine", "round": 2, "score": None, "stop_reason": None},
        {"stage": "principles", "step": "judge", "round": 2, "score": 5, "stop_reason": None},
        {"stage": "response", "step": "draft", "round": 1, "score": None, "stop_reason": None},
        {"stage": "response", "step": "judge", "round": 1, "score": 4, "stop_reason": None},
        {
            "stage": None,
            "step": "finalize",
            "round": None,
            "score": None,
            "stop_reason": {"principles": "accepted", "response": "accepted"},
        },
    ]


async def test_tokens_come_only_from_the_base_models_drafts():
    items = [item async for item in astream("Q?", model=model(), tokens=True)]
    tokens = [item for item in items if isinstance(item, Token)]
    assert [(t.node, t.stage, t.text) for t in tokens] == [
        ("draft_principles", "principles", "P1"),
        ("refine_principles", "principles", "P2"),
        ("draft_response", "response", "R1"),
    ]
    updates = [item for item in items if isinstance(item, Update)]
    assert [u.node for u in updates][-1] == "finalize"


async def test_raw_graph_messages_stream_skips_the_critic():
    graph = build_graph()
    seen = []
    async for message, metadata in graph.astream(
        {"query": "Q?"}, context=Context(model=model()), stream_mode="messages"
    ):
        seen.append((metadata["langgraph_node"], metadata.get("tags"), message.text))
    assert [(node, text) for node, _, text in seen] == [
        ("draft_principles", "P1"),
        ("refine_principles", "P2"),
        ("draft_response", "R1"),
    ]
    assert all("spri:base" in tags for _, tags, _ in seen)
