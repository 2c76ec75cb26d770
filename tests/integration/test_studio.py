"""LangGraph's server (`langgraph dev`, what Studio talks to) loads langgraph.json (the graph by module path,
its settings from .env) and runs SPRI: driven with langgraph_sdk, used as a RemoteGraph inside another
graph, restarted with its threads kept, and never warning about checkpoint types it does not know."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict

import httpx
import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.pregel.remote import RemoteGraph
from langgraph_sdk import get_client

from tests.integration.test_cli import deterministic
from tests.support import ROOT
from tests.support.fakes import RUN_REFINING_EACH_STAGE_ONCE
from tests.support.openai_server import OpenAIServer, free_port
from tests.support.processes import cli_env

LANGGRAPH = Path(sys.executable).with_name("langgraph")
SERDE_WARNINGS = ("Deserializing unregistered type", "Blocked deserialization")


@dataclass
class DevServer:
    """`langgraph dev` in a project folder holding only langgraph.json and .env (as a user's would)."""

    workdir: Path
    env: dict[str, str]
    log_path: Path
    proc: subprocess.Popen | None = None
    url: str = ""

    def start(self) -> None:
        port = free_port()
        command = [str(LANGGRAPH), "dev", "--no-browser", "--no-reload", "--host", "127.0.0.1", "--port", str(port)]
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(command, cwd=self.workdir, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{port}"
        for _ in range(1200):
            if self.proc.poll() is not None:
                break
            try:
                if httpx.get(self.url + "/ok", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise AssertionError(f"langgraph dev did not come up:\n{self.log()[-3000:]}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture
def studio(tmp_path) -> Iterator[DevServer]:
    if not LANGGRAPH.exists():
        pytest.fail(f"langgraph CLI not installed at {LANGGRAPH} (make test installs langgraph-cli[inmem])")
    workdir = tmp_path / "project"  # langgraph dev writes .langgraph_api/ next to the config
    workdir.mkdir()
    shutil.copy(ROOT / "langgraph.json", workdir / "langgraph.json")
    with OpenAIServer(deterministic) as model_server:
        settings = {
            "SPRI_MODEL": "openai:fake",
            "OPENAI_API_KEY": "test-key",
            "OPENAI_BASE_URL": model_server.base_url,
            "SPRI_MAX_RETRIES": "0",
        }
        (workdir / ".env").write_text("".join(f"{k}={v}\n" for k, v in settings.items()))
        env = cli_env(tmp_path, LANGGRAPH_CLI_NO_ANALYTICS="1", LANGGRAPH_NO_VERSION_CHECK="true")
        for name in settings:
            env.pop(name, None)  # the settings come from .env, through langgraph.json's "env"
        server = DevServer(workdir, env, tmp_path / "langgraph-dev.log")
        server.start()
        try:
            yield server
        finally:
            server.stop()
        log = server.log()
        assert not [w for w in SERDE_WARNINGS if w in log], log[-3000:]


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
