"""`spri serve`: LangServe endpoints on 127.0.0.1 driven with RemoteRunnable and raw HTTP."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from langserve import RemoteRunnable

from tests.support.openai_server import OpenAIServer, free_port
from tests.support.policies import deterministic
from tests.support.processes import cli_env, wait_for_http


def start_server(tmp_path, env_extra: dict[str, str]) -> tuple[subprocess.Popen, str]:
    port = free_port()
    defaults = {
        "SPRI_MODEL": "openai:fake",
        "OPENAI_API_KEY": "server-secret",
        "SPRI_MAX_RETRIES": "0",
        "SPRI_SERVE_DB": str(tmp_path / "server.sqlite"),
    }
    env = cli_env(tmp_path, **{**defaults, **env_extra})
    proc = subprocess.Popen(
        [sys.executable, "-m", "spri.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    wait_for_http(url + "/health", proc)
    return proc, url


@pytest.fixture
def server(tmp_path) -> Iterator[tuple[str, OpenAIServer]]:
    with OpenAIServer(deterministic) as model_server:
        proc, url = start_server(tmp_path, {"OPENAI_BASE_URL": model_server.base_url})
        try:
            yield url, model_server
        finally:
            proc.terminate()
            proc.wait(10)


def test_invoke_batch_stream_and_events(server):
    url, _model_server = server
    spri = RemoteRunnable(url + "/spri")
    result = spri.invoke({"query": "How do I start running?"})
    assert result["response"] == "revised response text" and result["calls"] == 8
    assert result["stop_reason"] == {"principles": "accepted", "response": "accepted"}

    results = spri.batch([{"query": "First?"}, {"query": "Second?"}])
    assert [r["calls"] for r in results] == [8, 8]

    chunks = list(spri.stream({"query": "Streamed?"}))
    kinds = [c["type"] for c in chunks]
    assert kinds[-1] == "result" and kinds.count("update") >= 9
    assert [c["node"] for c in chunks if c["type"] == "update"][:3] == ["begin", "draft_principles", "judge_principles"]

    events = httpx.post(url + "/spri/stream_events", json={"input": {"query": "Events?"}}, timeout=60)
    assert events.status_code == 200
    assert "judge_principles" in events.text and "on_chat_model_end" in events.text

    for schema in ("input_schema", "output_schema", "config_schema"):
        assert httpx.get(f"{url}/spri/{schema}").status_code == 200
    config_schema = httpx.get(f"{url}/spri/config_schema").text
    assert "min_score" in config_schema and "thread_id" in config_schema and "protocol" in config_schema
    assert httpx.get(f"{url}/spri/playground/").status_code == 200


def test_thread_from_config_or_header_persists(server):
    url, _ = server
    spri = RemoteRunnable(url + "/spri")
    spri.invoke({"query": "Thread question?"}, config={"configurable": {"thread_id": "t-config", "max_rounds": 1}})
    state = httpx.get(f"{url}/spri/threads/t-config").json()
    assert state["input"]["query"] == "Thread question?" and state["result"]["next_steps"] == []
    assert state["result"]["rounds"] == {"principles": 1, "response": 1}  # max_rounds 1 was honoured

    with_header = httpx.post(
        url + "/spri/invoke",
        json={"input": {"query": "Header question?"}},
        headers={"X-Thread-Id": "t-header"},
        timeout=60,
    )
    assert with_header.status_code == 200
    assert httpx.get(f"{url}/spri/threads/t-header").json()["input"]["query"] == "Header question?"
    assert httpx.get(f"{url}/spri/threads/never").status_code == 404


def test_review_through_the_server(server):
    url, _ = server
    spri = RemoteRunnable(url + "/spri")
    config = {"configurable": {"thread_id": "t-review", "review_principles": True}}
    paused = spri.invoke({"query": "Review me?"}, config=config)
    assert paused["status"] == "interrupted" and paused["interrupt"]["principles"] == "revised principles text"
    done = spri.invoke({"resume": {"action": "edit", "principles": "1. Be short."}}, config=config)
    assert done["status"] == "done" and done["principles"] == "1. Be short." and done["review"] == "edited"


def test_review_decisions_through_the_server(server):
    """The human-in-the-loop decisions over HTTP: a reply that is not a decision is a 400 and leaves the
    thread paused; reject refines with the note and pauses again; approve finishes."""
    url, model_server = server
    config = {"configurable": {"thread_id": "t-decisions", "review_principles": True}}

    def invoke(payload):
        body = {"input": payload, "config": config}
        return httpx.post(url + "/spri/invoke", json=body, timeout=60)

    assert invoke({"query": "Decide on me?"}).json()["output"]["status"] == "interrupted"
    refused = invoke({"resume": "yes"})
    assert refused.status_code == 400 and "approve" in refused.text
    before = len(model_server.requests)
    reject = {"decisions": [{"type": "reject", "message": "Mention the budget."}]}
    again = invoke({"resume": reject}).json()["output"]
    assert again["status"] == "interrupted" and again["review"] == "rejected"
    assert len(model_server.requests) == before + 1  # one refinement, nothing else
    assert "Mention the budget." in json.dumps(model_server.requests[-1])
    done = invoke({"resume": {"decisions": [{"type": "approve"}]}}).json()["output"]
    assert done["status"] == "done" and done["review"] == "approved" and done["response"]


@pytest.mark.parametrize(
    "configurable,fragment",
    [
        ({"model": "openai:gpt-4o"}, "not allowed: model"),
        ({"critic_model": "x"}, "not allowed: critic_model"),
        ({"base_url": "http://evil.example/v1"}, "not allowed: base_url"),
        ({"profile": "/etc/passwd.toml"}, "profile must be one of"),
        ({"seeds": "/etc/hosts"}, "seeds must be 'default' or 'none'"),
    ],
)
def test_only_whitelisted_options_are_accepted(server, configurable, fragment):
    url, model_server = server
    before = len(model_server.requests)
    response = httpx.post(
        url + "/spri/invoke", json={"input": {"query": "Q?"}, "config": {"configurable": configurable}}, timeout=30
    )
    assert response.status_code == 400 and fragment in response.text
    assert len(model_server.requests) == before  # refused before any model call


def test_bad_input_is_a_clear_400(server):
    url, _ = server
    response = httpx.post(url + "/spri/invoke", json={"input": {"query": "   "}}, timeout=30)
    assert response.status_code in (400, 422) and "query is empty" in response.text


def test_oversized_bodies_get_413(server):
    url, _ = server
    big = "x" * 1_100_000
    response = httpx.post(url + "/spri/invoke", json={"input": {"query": big}}, timeout=30)
    assert response.status_code == 413


def test_bearer_auth_when_configured(tmp_path):
    key = "s3cret-bearer-key-0001"
    with OpenAIServer(deterministic) as model_server:
        proc, url = start_server(tmp_path, {"OPENAI_BASE_URL": model_server.base_url, "SPRI_API_KEY": key})
        try:
            assert httpx.get(url + "/health").status_code == 200  # health needs no key
            body: dict[str, Any] = {"input": {"query": "Q?"}}
            assert httpx.post(url + "/spri/invoke", json=body).status_code == 401
            wrong = httpx.post(url + "/spri/invoke", json=body, headers={"Authorization": "Bearer nope"})
            assert wrong.status_code == 401
            ok = httpx.post(url + "/spri/invoke", json=body, headers={"Authorization": f"Bearer {key}"}, timeout=60)
            assert ok.status_code == 200 and json.loads(ok.text)["output"]["calls"] == 8
            remote = RemoteRunnable(url + "/spri", headers={"Authorization": f"Bearer {key}"})
            assert remote.invoke({"query": "Again?"})["calls"] == 8
        finally:
            proc.terminate()
            proc.wait(10)


async def test_two_hundred_concurrent_requests_all_succeed(server):
    import asyncio

    url, _ = server
    async with httpx.AsyncClient(timeout=120, limits=httpx.Limits(max_connections=200)) as client:

        async def one(i: int) -> httpx.Response:
            return await client.post(
                url + "/spri/invoke", json={"input": {"query": f"Concurrent {i}?"}}, headers={"X-Thread-Id": f"c-{i}"}
            )

        responses = await asyncio.gather(*(one(i) for i in range(200)))
    assert [r.status_code for r in responses] == [200] * 200
    assert all(r.json()["output"]["calls"] == 8 for r in responses)
