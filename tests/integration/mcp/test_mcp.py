"""`spri mcp` driven by the MCP SDK's own client, over stdio and over streamable HTTP, with a scripted
upstream model: tools listed with their schemas, each tool called, progress seen, bad arguments and
model failures as tool errors, 401 without the key."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client

from tests.support.openai_server import Fault, OpenAIServer, Reply, free_port
from tests.support.policies import deterministic
from tests.support.processes import eventually
from tests.support.serving import server_env

KEY = "mcp-test-key-0123456789"
FAILING = "please fail upstream"
TO_JUDGE = "Sleep eight hours."


def policy(request: dict[str, Any]) -> Any:
    """Refines each stage once (:func:`deterministic`); a judgment of TO_JUDGE scores it 4; a query
    holding FAILING makes the endpoint fail."""
    text = " ".join(str(m.get("content")) for m in request["messages"])
    if FAILING in text:
        return Fault(status=500)
    if TO_JUDGE in text:
        if "You review" in str(request["messages"][0].get("content")):
            return Reply(tool_args={"feedback": "Fair.", "score": 5})
        if request.get("tools"):  # the judgment itself
            return Reply(tool_args={"feedback": "Clear but generic.", "score": 4})
        return Reply(text="Criterion: Is it specific?\nScore 1: no\nScore 5: yes")
    return deterministic(request)


@pytest.fixture(scope="module")
def upstream() -> Iterator[OpenAIServer]:
    with OpenAIServer(policy) as server:
        yield server


def environment(home: Path, upstream: OpenAIServer) -> dict[str, str]:
    return server_env(home, OPENAI_BASE_URL=upstream.base_url, SPRI_API_KEY=KEY)


@asynccontextmanager
async def over_stdio(home: Path, upstream: OpenAIServer) -> AsyncIterator[ClientSession]:
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "spri.cli", "mcp"], env=environment(home, upstream)
    )
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        yield session


def status_of(url: str) -> int | None:
    try:
        return httpx.get(url, timeout=1).status_code
    except httpx.HTTPError:
        return None


@pytest.fixture(scope="module")
def http_server(tmp_path_factory, upstream) -> Iterator[str]:
    home = tmp_path_factory.mktemp("mcp-http")
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "spri.cli", "mcp", "--transport", "streamable-http", "--port", str(port)],
        env=environment(home, upstream),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/mcp"
    try:
        assert eventually(lambda: status_of(url), lambda status: status == 401, timeout=120) == 401
        yield url
    finally:
        proc.terminate()
        proc.wait(30)


@asynccontextmanager
async def over_http(url: str) -> AsyncIterator[ClientSession]:
    client = httpx.AsyncClient(headers={"Authorization": f"Bearer {KEY}"}, timeout=120)
    async with (
        client,
        streamable_http_client(url, http_client=client) as (read, write, _),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


async def exercise(session: ClientSession) -> None:
    """Every tool, as a client uses them."""
    listed = {tool.name: tool for tool in (await session.list_tools()).tools}
    assert set(listed) == {"answer", "judge", "principles"}
    answer_schema = listed["answer"].inputSchema["properties"]
    assert {"query", "messages", "profile", "method", "goal"} <= set(answer_schema)
    assert "reappraisal" in str(answer_schema["profile"]) and "fixed-principles" in str(answer_schema["method"])
    assert listed["answer"].outputSchema and "principles" in listed["answer"].outputSchema["properties"]
    assert set(listed["judge"].inputSchema["required"]) == {"query", "response"}

    steps: list[str] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        steps.append(message or "")

    answered = await session.call_tool("answer", {"query": "How do I rest?"}, progress_callback=on_progress)
    assert not answered.isError and answered.content[0].text == "revised response text"
    found = answered.structuredContent
    assert found["principles"] == "revised principles text" and found["scores"] == {"principles": 5, "response": 5}
    assert found["stop_reason"] == {"principles": "accepted", "response": "accepted"} and found["calls"] == 8
    assert found["thread_id"]
    assert steps[:3] == [
        "begin",
        "draft_principles: principles, round 1",
        "judge_principles: principles, round 1, score 2",
    ]

    judged = await session.call_tool("judge", {"query": "How do I rest?", "response": TO_JUDGE})
    assert not judged.isError, judged.content
    assert judged.structuredContent["score"] == 4 and judged.structuredContent["feedback"] == "Clear but generic."

    stage_one = await session.call_tool("principles", {"query": "How do I rest?"})
    assert not stage_one.isError and stage_one.content[0].text == "revised principles text"
    assert stage_one.structuredContent["score"] == 5 and stage_one.structuredContent["calls"] == 4, stage_one

    refused = await session.call_tool("answer", {"messages": [{"role": "robot", "content": "Hi?"}]})
    assert refused.isError and "role" in refused.content[0].text
    refused = await session.call_tool("answer", {"query": "Hi?", "profile": "/etc/passwd"})
    assert refused.isError and "profile must be one of" in refused.content[0].text

    failed = await session.call_tool("answer", {"query": FAILING})
    assert failed.isError and "127.0.0.1" in failed.content[0].text
    assert "server-secret" not in failed.content[0].text
    assert not (await session.call_tool("answer", {"query": "Still there?"})).isError  # the server lives on


async def test_over_stdio(tmp_path, upstream):
    async with over_stdio(tmp_path, upstream) as session:
        await exercise(session)
        upstream.requests.clear()
        turns = [
            {"role": "user", "content": "My landlord kept my deposit."},
            {"role": "assistant", "content": "Write him a letter asking for it back."},
            {"role": "user", "content": "And if he ignores my letter?"},
        ]
        answered = await session.call_tool("answer", {"messages": turns})
    assert not answered.isError and answered.content[0].text == "revised response text"
    drafting = [str(r["messages"]) for r in upstream.requests if "You review" not in str(r["messages"][0])]
    assert len(drafting) == 4 and all("My landlord kept my deposit." in prompt for prompt in drafting)


async def test_over_streamable_http_with_the_servers_keys(http_server):
    async with over_http(http_server) as session:
        await exercise(session)
    hello = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}}
    assert httpx.post(http_server, json=hello).status_code == 401
    wrong = {"Authorization": "Bearer not-the-key-0123456789"}
    assert httpx.post(http_server, json=hello, headers=wrong).status_code == 401
