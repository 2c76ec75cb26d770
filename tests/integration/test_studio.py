"""LangGraph Studio's server (`langgraph dev`) loads langgraph.json and runs SPRI; driven with langgraph_sdk."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from langgraph_sdk import get_client

from tests.integration.test_cli import deterministic
from tests.support import ROOT
from tests.support.fakes import RUN_REFINING_EACH_STAGE_ONCE
from tests.support.openai_server import OpenAIServer, free_port
from tests.support.processes import cli_env, wait_for_http

LANGGRAPH = Path(sys.executable).with_name("langgraph")


@pytest.fixture
def studio(tmp_path):
    if not LANGGRAPH.exists():
        pytest.fail(f"langgraph CLI not installed at {LANGGRAPH} (make test installs langgraph-cli[inmem])")
    workdir = tmp_path / "project"  # langgraph dev writes .langgraph_api/ next to the config
    workdir.mkdir()
    shutil.copy(ROOT / "langgraph.json", workdir / "langgraph.json")
    (workdir / "graph").symlink_to(ROOT / "graph")
    with OpenAIServer(deterministic) as model_server:
        port = free_port()
        env = cli_env(
            tmp_path,
            LANGGRAPH_CLI_NO_ANALYTICS="1",
            LANGGRAPH_NO_VERSION_CHECK="true",
            SPRI_MODEL="openai:fake",
            OPENAI_API_KEY="test-key",
            OPENAI_BASE_URL=model_server.base_url,
            SPRI_MAX_RETRIES="0",
        )
        proc = subprocess.Popen(
            [str(LANGGRAPH), "dev", "--no-browser", "--no-reload", "--host", "127.0.0.1", "--port", str(port)],
            cwd=workdir,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_for_http(url + "/ok", proc, timeout=120)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()


async def test_studio_runs_every_stage_and_keeps_history(studio):
    client = get_client(url=studio)
    (assistant,) = await client.assistants.search(graph_id="spri")
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


async def test_studio_review_interrupt_and_resume(studio):
    client = get_client(url=studio)
    thread = await client.threads.create()
    await client.runs.wait(thread["thread_id"], "spri", input={"query": "Q?"}, context={"review_principles": True})
    state = await client.threads.get_state(thread["thread_id"])
    assert state["next"] == ["review_principles"]
    assert state["tasks"][0]["interrupts"][0]["value"]["principles"] == "revised principles text"
    await client.runs.wait(
        thread["thread_id"],
        "spri",
        command={"resume": {"action": "edit", "principles": "1. Go."}},
        context={"review_principles": True},
    )
    values = (await client.threads.get_state(thread["thread_id"]))["values"]
    assert values["principles"] == "1. Go." and values["review"] == "edited"
