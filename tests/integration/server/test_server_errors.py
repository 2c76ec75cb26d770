"""`spri serve` when the model endpoint fails: 502/504/429 with a JSON body naming the endpoint (never a
key), on every route; one log line per failed run; a retry on the same thread continues the run."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest

from tests.support.openai_server import Fault, OpenAIServer, Reply, free_port, is_critic_request
from tests.support.policies import deterministic, principle_drafts
from tests.support.serving import serving

SECRET = "server-secret-key-0123"  # the server's OPENAI_API_KEY (tests.support.serving)


def sse_events(text: str) -> list[tuple[str, Any]]:
    """(event, data) pairs of a server-sent event stream."""
    events = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "event" in fields:
            events.append((fields["event"], json.loads(fields["data"]) if fields.get("data") else None))
    return events


def stream_error(url: str, route: str, body: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(f"{url}/spri/{route}", json=body, timeout=120)
    assert response.status_code == 200  # the stream had started; the failure is its last event
    events = sse_events(response.text)
    assert events[-1][0] == "error", events[-3:]
    return dict(events[-1][1])


def test_endpoint_down_is_502_on_every_route_with_one_log_line_each(tmp_path):
    down = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    with serving(tmp_path, OPENAI_BASE_URL=down) as server:
        url = server.url
        invoke = httpx.post(
            url + "/spri/invoke", json={"input": {"query": "Q?"}}, headers={"X-Thread-Id": "t-inv"}, timeout=120
        )
        assert invoke.status_code == 502
        assert invoke.json() == {
            "detail": f"cannot reach the model endpoint {down} "
            "(is the server running? check OPENAI_BASE_URL, or spri batch's --base-url)",
            "error": "upstream_unreachable",
            "thread_id": "t-inv",
        }
        batch = httpx.post(url + "/spri/batch", json={"inputs": [{"query": "Q?"}]}, timeout=120)
        assert batch.status_code == 502 and batch.json()["error"] == "upstream_unreachable"
        assert batch.json()["thread_id"]  # generated, so the client can retry it
        for route in ("stream", "stream_log", "stream_events"):
            body = {"input": {"query": "Q?"}, "config": {"configurable": {"thread_id": f"t-{route}"}}}
            error = stream_error(url, route, body)
            assert error["status_code"] == 502 and error["error"] == "upstream_unreachable"
            assert error["thread_id"] == f"t-{route}" and down in error["detail"]
        everything = invoke.text + batch.text
        log = server.wait_for_log("POST /spri/stream_events")
    assert SECRET not in everything and SECRET not in log
    failures = [line for line in log.splitlines() if "run failed:" in line]
    assert len(failures) == 5, failures
    for thread in ("t-inv", "t-stream", "t-stream_log", "t-stream_events"):
        (line,) = [f for f in failures if f"thread_id={thread} " in f]
        assert re.search(r"run_id=[0-9a-f-]{36} ", line), line
        assert "node=draft_principles error=upstream_unreachable status=502 cause=cannot reach" in line


def test_timeout_is_504(tmp_path):
    with (
        OpenAIServer(lambda request: Fault(hang=3)) as model,
        serving(tmp_path, OPENAI_BASE_URL=model.base_url, SPRI_TIMEOUT="1") as server,
    ):
        response = httpx.post(server.url + "/spri/invoke", json={"input": {"query": "Q?"}}, timeout=120)
        log = server.wait_for_log("POST /spri/invoke")
    assert response.status_code == 504
    body = response.json()
    assert body["error"] == "upstream_timeout" and model.base_url in body["detail"] and body["thread_id"]
    assert f"thread_id={body['thread_id']} node=draft_principles error=upstream_timeout" in log


def test_rate_limit_outlasting_retries_is_429_with_retry_after(tmp_path):
    limited = Fault(status=429, headers={"Retry-After": "7"}, body='{"error": {"message": "slow down"}}')
    with (
        OpenAIServer(lambda request: limited) as model,
        serving(tmp_path, OPENAI_BASE_URL=model.base_url) as server,
    ):
        response = httpx.post(server.url + "/spri/invoke", json={"input": {"query": "Q?"}}, timeout=120)
        error = stream_error(server.url, "stream", {"input": {"query": "Q?"}})
    assert response.status_code == 429 and response.headers["retry-after"] == "7"
    assert response.json()["error"] == "rate_limited" and "rate-limiting" in response.json()["detail"]
    assert error["status_code"] == 429 and error["error"] == "rate_limited"


def test_a_critic_that_never_scores_is_not_an_error(tmp_path):
    def no_score(request: dict[str, Any]) -> Reply:
        return Reply(text="I have read it and have thoughts.") if is_critic_request(request) else deterministic(request)

    with OpenAIServer(no_score) as model, serving(tmp_path, OPENAI_BASE_URL=model.base_url) as server:
        response = httpx.post(server.url + "/spri/invoke", json={"input": {"query": "Q?"}}, timeout=120)
    assert response.status_code == 200
    output = response.json()["output"]
    assert output["stop_reason"] == {"principles": "critic_unparseable", "response": "critic_unparseable"}


class FailingResponseStage:
    """Answers like ``deterministic`` but fails every request of stage 2 until :attr:`healthy`."""

    def __init__(self) -> None:
        self.healthy = False

    def __call__(self, request: dict[str, Any]) -> Reply | Fault:
        stage_two = "guiding principles" not in request["messages"][0]["content"] and not is_critic_request(request)
        if stage_two and not self.healthy:
            return Fault(status=503)
        return deterministic(request)


def test_retrying_the_same_thread_continues_where_the_run_stopped(tmp_path):
    policy = FailingResponseStage()
    with OpenAIServer(policy) as model, serving(tmp_path, OPENAI_BASE_URL=model.base_url) as server:
        body = {"input": {"query": "Q?"}, "config": {"configurable": {"thread_id": "t-retry"}}}
        failed = httpx.post(server.url + "/spri/invoke", json=body, timeout=120)
        assert failed.status_code == 502 and failed.json()["thread_id"] == "t-retry"
        assert principle_drafts(model.requests) == 2  # stage 1 finished: drafted and refined once
        state = httpx.get(server.url + "/spri/threads/t-retry").json()
        assert state["result"]["status"] == "incomplete" and state["result"]["next_steps"] == ["draft_response"]
        policy.healthy = True
        retried = httpx.post(server.url + "/spri/invoke", json=body, timeout=120)
        assert retried.status_code == 200
        output = retried.json()["output"]
        assert output["response"] == "revised response text" and output["thread_id"] == "t-retry"
        assert principle_drafts(model.requests) == 2  # stage 1 was not run again
        missing = httpx.post(
            server.url + "/spri/invoke",
            json={"input": {}, "config": {"configurable": {"thread_id": "nope"}}},
            timeout=60,
        )
    assert missing.status_code == 404
    assert missing.json() == {"detail": "no thread 'nope'", "error": "thread_not_found", "thread_id": "nope"}


@pytest.mark.parametrize("route", ["invoke", "stream"])
def test_an_empty_input_continues_a_stopped_thread(tmp_path, route):
    policy = FailingResponseStage()
    with OpenAIServer(policy) as model, serving(tmp_path, OPENAI_BASE_URL=model.base_url) as server:
        config = {"configurable": {"thread_id": "t-cont"}}
        first = httpx.post(server.url + "/spri/invoke", json={"input": {"query": "Q?"}, "config": config}, timeout=120)
        assert first.status_code == 502
        policy.healthy = True
        again = httpx.post(f"{server.url}/spri/{route}", json={"input": {}, "config": config}, timeout=120)
    assert again.status_code == 200
    if route == "invoke":
        assert again.json()["output"]["response"] == "revised response text"
    else:
        events = sse_events(again.text)
        assert events[-1][0] == "end" and events[-2][1]["type"] == "result"
        assert events[-2][1]["response"] == "revised response text"
    assert principle_drafts(model.requests) == 2
