"""The human review of the principles through LangGraph's server (`langgraph dev`) and `langgraph_sdk`, as
Studio, Agent Chat UI or another program would do it: the interrupt speaks LangChain's human-in-the-loop
format, and approve / edit / reject decisions resume the thread; a malformed decision is refused and the
thread stays paused. One server for the module; model calls are counted at the loopback fake model."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient

from tests.support.langgraph_dev import DevServer, langgraph_dev
from tests.support.openai_server import is_critic_request
from tests.support.policies import deterministic
from tests.support.readme import readme_block

QUERY = "How do I tell my parents I'm dropping out?"
REVIEW = {"review_principles": True}
APPROVE = {"decisions": [{"type": "approve"}]}
HITL_CONFIG = [{"action_name": "review_principles", "allowed_decisions": ["approve", "edit", "reject"]}]


@pytest.fixture(scope="module")
def studio(tmp_path_factory) -> Iterator[DevServer]:
    with langgraph_dev(tmp_path_factory.mktemp("review"), deterministic) as server:
        yield server


@pytest.fixture
def client(studio) -> Iterator[LangGraphClient]:
    yield get_client(url=studio.url)
    assert not studio.serde_warnings()  # checked after each test, so a warning names the test that caused it


class ModelCalls:
    """The requests the fake model receives from now on."""

    def __init__(self, studio: DevServer) -> None:
        self.requests = studio.model.requests
        self.start = len(self.requests)

    def since(self) -> list[dict[str, Any]]:
        return self.requests[self.start :]


def is_principles_request(request: dict[str, Any]) -> bool:
    return not is_critic_request(request) and "guiding principles" in request["messages"][0]["content"]


def mentions(request: dict[str, Any], text: str) -> bool:
    return any(text in (m.get("content") or "") for m in request["messages"])


async def paused_for_review(client: LangGraphClient) -> tuple[str, str, dict[str, Any]]:
    """A new thread paused at the review, run by an assistant whose context turns the review on (as a
    Studio user would set it): the thread id, the assistant id and the pending interrupt's value."""
    assistant = await client.assistants.create(graph_id="spri", context=REVIEW)
    thread = await client.threads.create()
    await client.runs.wait(thread["thread_id"], assistant["assistant_id"], input={"query": QUERY})
    state = await client.threads.get_state(thread["thread_id"])
    assert state["next"] == ["review_principles"]
    return thread["thread_id"], assistant["assistant_id"], state["tasks"][0]["interrupts"][0]["value"]


async def test_interrupt_in_hitl_format_then_approve(client, studio):
    calls = ModelCalls(studio)
    thread_id = (await client.threads.create())["thread_id"]
    streamed = []
    async for part in client.runs.stream(
        thread_id, "spri", input={"query": QUERY}, context=REVIEW, stream_mode=["updates", "values"]
    ):
        if part.event in ("updates", "values") and "__interrupt__" in part.data:
            streamed += [(part.event, i["value"]) for i in part.data["__interrupt__"]]
    assert [event for event, _ in streamed] == ["updates", "values"]
    request = streamed[0][1]
    assert streamed[1][1] == request
    (action,) = request["action_requests"]
    assert action["name"] == "review_principles" and action["args"] == {"principles": "revised principles text"}
    assert "5/5" in action["description"]
    assert request["review_configs"] == HITL_CONFIG
    assert len(calls.since()) == 4  # draft, judge, refine, judge the principles; then the pause

    state = await client.threads.get_state(thread_id)
    assert state["next"] == ["review_principles"]
    assert state["tasks"][0]["interrupts"][0]["value"] == request
    assert (await client.threads.get(thread_id))["status"] == "interrupted"

    final = await client.runs.wait(thread_id, "spri", command={"resume": APPROVE}, context=REVIEW)
    assert final["response"] == "revised response text" and final["principles"] == "revised principles text"
    assert final["review"] == "approved" and final["calls"] == 8
    assert len(calls.since()) == 8 and (await client.threads.get(thread_id))["status"] == "idle"


async def test_edit_replaces_the_principles_without_refining_them(client, studio):
    thread_id, assistant_id, _ = await paused_for_review(client)
    calls = ModelCalls(studio)
    edited = "1. Name the feeling first."
    edit = {"type": "edit", "edited_action": {"name": "review_principles", "args": {"principles": edited}}}
    final = await client.runs.wait(thread_id, assistant_id, command={"resume": {"decisions": [edit]}})

    assert final["principles"] == edited and final["review"] == "edited"
    assert final["drafts"]["principles"] == ["principles text", "revised principles text", edited]
    assert len(final["critiques"]["principles"]) == 2  # the edit is recorded, not judged
    assert final["response"] == "revised response text" and final["calls"] == 8
    after = calls.since()
    assert len(after) == 4 and not any(is_principles_request(r) for r in after)  # the response stage only
    assert mentions(after[0], edited) and not is_critic_request(after[0])  # the response was drafted from the edit


async def test_reject_refines_once_with_the_message_then_reviews_again(client, studio):
    thread_id, assistant_id, first = await paused_for_review(client)
    calls = ModelCalls(studio)
    message = "Mention talking to a school counsellor."
    reject = {"type": "reject", "message": message}
    await client.runs.wait(thread_id, assistant_id, command={"resume": {"decisions": [reject]}})

    (refinement,) = calls.since()  # one refinement, no critic: the reviewer judges it
    assert is_principles_request(refinement) and mentions(refinement, message)
    state = await client.threads.get_state(thread_id)
    assert state["next"] == ["review_principles"]  # reviewed again
    values = state["values"]
    assert values["review"] == "rejected" and values["review_note"] == message
    assert len(values["drafts"]["principles"]) == 3 and len(values["critiques"]["principles"]) == 2
    second = state["tasks"][0]["interrupts"][0]["value"]
    assert second["review_configs"] == HITL_CONFIG and second["score"] is None and first["score"] == 5
    assert second["action_requests"][0]["args"] == {"principles": values["drafts"]["principles"][-1]}

    final = await client.runs.wait(thread_id, assistant_id, command={"resume": APPROVE})
    assert final["review"] == "approved" and final["response"] == "revised response text"
    assert final["calls"] == 9 and len(calls.since()) == 5
    assert (await client.threads.get_state(thread_id))["values"]["review_note"] is None


async def test_malformed_decision_is_refused_and_the_thread_stays_paused(client, studio):
    thread_id, assistant_id, request = await paused_for_review(client)
    calls = ModelCalls(studio)
    typo = {"decisions": [{"type": "typo"}]}
    await client.runs.wait(thread_id, assistant_id, command={"resume": typo})  # refused: asked again, not an error
    (run, *_) = await client.runs.list(thread_id, limit=1)
    assert run["status"] == "success" and (await client.threads.get(thread_id))["status"] == "interrupted"
    state = await client.threads.get_state(thread_id)
    assert state["next"] == ["review_principles"]
    (asked_again,) = state["tasks"][0]["interrupts"]
    refused = asked_again["value"].pop("refused")
    assert "review decision type must be one of approve, edit, reject" in refused
    assert repr(typo) in refused  # names the bad decision
    assert asked_again["value"] == request and calls.since() == []

    final = await client.runs.wait(thread_id, assistant_id, command={"resume": APPROVE})
    assert final["review"] == "approved" and final["response"] == "revised response text"
    assert final["calls"] == 8 and len(calls.since()) == 4


def test_the_readme_example_runs_as_written(studio, tmp_path):
    example = readme_block("# The review over LangGraph's server (langgraph dev), with langgraph_sdk")
    default = 'URL = "http://127.0.0.1:2024"'
    assert default in example
    script = tmp_path / "review_over_the_server.py"
    script.write_text(example.replace(default, f"URL = {studio.url!r}"), encoding="utf-8")
    calls = ModelCalls(studio)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "proposed: revised principles text",
        "refined: revised principles text",
        "approved -> revised response text",
    ]
    assert len(calls.since()) == 9  # 4 for the principles, 1 refinement for the note, 4 for the response
    assert mentions(calls.since()[4], "Mention a school counsellor.")
