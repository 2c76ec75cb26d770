"""Operating `spri serve`: /ready follows the model endpoint and the database, /metrics counts a run's
calls exactly (behind the API key), and --log-format json writes one JSON line per request."""

from __future__ import annotations

import json
import sqlite3

import httpx

from tests.support.openai_server import OpenAIServer, free_port
from tests.support.policies import deterministic
from tests.support.processes import eventually
from tests.support.serving import metric_samples, serving


def test_ready_flips_with_the_model_endpoint(tmp_path):
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}/v1"
    model = OpenAIServer(deterministic, port=port).__enter__()
    with serving(tmp_path, OPENAI_BASE_URL=endpoint, SPRI_READY_CACHE="0.2") as server:

        def ready() -> httpx.Response:
            return httpx.get(server.url + "/ready", timeout=30)

        up = ready()
        assert up.status_code == 200, up.text
        assert up.json()["checks"] == {"checkpoint database": "ok", f"model endpoint {endpoint}": "ok"}
        model.__exit__()  # the endpoint goes away
        down = eventually(ready, lambda r: r.status_code == 503)
        assert down.status_code == 503 and down.json()["down"] == [f"model endpoint {endpoint}"]
        assert down.json()["checks"]["checkpoint database"] == "ok"
        assert "cannot connect" in down.json()["checks"][f"model endpoint {endpoint}"]
        with OpenAIServer(deterministic, port=port):
            assert eventually(ready, lambda r: r.status_code == 200).status_code == 200
        assert httpx.get(server.url + "/health", timeout=30).status_code == 200  # liveness never probes


def test_ready_needs_a_database_that_takes_writes(tmp_path):
    db = tmp_path / "locked.sqlite"
    with (
        OpenAIServer(deterministic) as model,
        serving(
            tmp_path,
            OPENAI_BASE_URL=model.base_url,
            SPRI_SERVE_DB=str(db),
            SPRI_READY_CACHE="0",
            SPRI_READY_TIMEOUT="1",
        ) as server,
    ):
        assert httpx.get(server.url + "/ready", timeout=30).status_code == 200
        lock = sqlite3.connect(db, isolation_level=None)
        lock.execute("BEGIN EXCLUSIVE")  # another process holds the database: writes cannot get in
        try:
            down = httpx.get(server.url + "/ready", timeout=30)
        finally:
            lock.execute("ROLLBACK")
            lock.close()
        assert down.status_code == 503 and down.json()["down"] == ["checkpoint database"]
        assert httpx.get(server.url + "/ready", timeout=30).status_code == 200


def test_metrics_count_a_runs_calls_tokens_and_stop_reasons(tmp_path):
    with OpenAIServer(deterministic) as model, serving(tmp_path, OPENAI_BASE_URL=model.base_url) as server:
        response = httpx.post(server.url + "/spri/invoke", json={"input": {"query": "Count me?"}}, timeout=120)
        output = response.json()["output"]
        server.wait_for_log("POST /spri/invoke")
        found = metric_samples(server.url)
    assert output["calls"] == 8 == len(model.requests)
    for role in ("base", "critic"):
        for stage in ("principles", "response"):
            assert found[("spri_model_calls_total", (("role", role), ("stage", stage)))] == 2
    tokens = {
        direction: sum(
            v for (name, labels), v in found.items() if name == "spri_model_tokens_total" and labels[0][1] == direction
        )
        for direction in ("input", "output")
    }
    assert tokens == {"input": output["tokens"]["input"], "output": output["tokens"]["output"]}
    for stage in ("principles", "response"):
        assert found[("spri_stop_reasons_total", (("reason", "accepted"), ("stage", stage)))] == 1
    assert found[("spri_run_duration_seconds_count", (("outcome", "done"),))] == 1
    assert found[("spri_runs_in_flight", ())] == 0
    assert found[("spri_http_requests_total", (("method", "POST"), ("route", "/spri/invoke"), ("status", "200")))] == 1


def test_metrics_sit_behind_the_api_key_and_probes_do_not(tmp_path):
    with (
        OpenAIServer(deterministic) as model,
        serving(tmp_path, OPENAI_BASE_URL=model.base_url, SPRI_API_KEY="operator-key-0042-abcd") as server,
    ):
        assert httpx.get(server.url + "/metrics", timeout=30).status_code == 401
        assert metric_samples(server.url, {"Authorization": "Bearer operator-key-0042-abcd"})
        assert httpx.get(server.url + "/ready", timeout=30).status_code == 200
        assert httpx.get(server.url + "/health", timeout=30).status_code == 200


def test_json_logs_one_line_per_request(tmp_path):
    with (
        OpenAIServer(deterministic) as model,
        serving(tmp_path, "--log-format", "json", OPENAI_BASE_URL=model.base_url) as server,
    ):
        body = {"input": {"query": "Log me?"}, "config": {"configurable": {"thread_id": "t-log"}}}
        run_id = httpx.post(server.url + "/spri/invoke", json=body, timeout=120).json()["metadata"]["run_id"]
        httpx.get(server.url + "/spri/threads/t-log", timeout=30)
        log = server.wait_for_log('"path": "/spri/threads/t-log"')
    lines = [json.loads(line) for line in log.splitlines() if line.strip()]  # every line is JSON
    requests = [line for line in lines if line.get("event") == "request" and line["path"].startswith("/spri/")]
    assert len(requests) == 2
    invoke = requests[0]
    assert invoke["run_id"] == run_id and invoke["thread_id"] == "t-log" and invoke["status"] == 200
    assert invoke["calls"] == 8 and invoke["duration_s"] > 0 and invoke["method"] == "POST"
    assert requests[1]["status"] == 200 and requests[1]["calls"] == 0
