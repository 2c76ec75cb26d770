"""No credential leaves a running `spri serve`: a proxy password in OPENAI_BASE_URL, a `?password=` in the
PostgreSQL URL of its database, its model key and the client keys never appear in an error body, a log
line (text or JSON), /health, /ready or /metrics, while the endpoint and database are still named."""

from __future__ import annotations

import httpx
import pytest

from tests.support.openai_server import free_port
from tests.support.serving import serving

PROXY_PASSWORD = "proxy-pass-0123456789"
DB_PASSWORD = "db-pass-9876543210"
MODEL_KEY = "server-secret-key-0123"  # tests.support.serving's OPENAI_API_KEY
CLIENT_KEY = "alice-key-0123456789abcdef"


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_no_credential_in_errors_logs_or_probes(pg_url, tmp_path, log_format):
    endpoint = f"http://proxyuser:{PROXY_PASSWORD}@127.0.0.1:{free_port()}/v1"  # nothing listens there
    db = f"{pg_url}?password={DB_PASSWORD}&application_name=spri-test"
    with serving(
        tmp_path,
        "--log-format",
        log_format,
        OPENAI_BASE_URL=endpoint,
        SPRI_SERVE_DB=db,
        SPRI_MAX_RETRIES="1",
        SPRI_API_KEYS=f"alice:{CLIENT_KEY}",
    ) as server:
        auth = {"Authorization": f"Bearer {CLIENT_KEY}"}
        failed = httpx.post(server.url + "/spri/invoke", json={"input": {"query": "Q?"}}, headers=auth, timeout=120)
        streamed = httpx.post(server.url + "/spri/stream", json={"input": {"query": "Q?"}}, headers=auth, timeout=120)
        answers = [
            failed,
            streamed,
            httpx.get(server.url + "/health", timeout=30),
            httpx.get(server.url + "/ready", timeout=30),
            httpx.get(server.url + "/metrics", headers=auth, timeout=30),
            httpx.get(server.url + "/spri/threads/nope", headers=auth, timeout=30),
        ]
        log = server.wait_for_log("/spri/threads/nope")
    assert failed.status_code == 502 and failed.json()["error"] == "upstream_unreachable"
    assert "proxyuser:***@127.0.0.1" in failed.json()["detail"]  # the endpoint is named, its password is not
    assert answers[3].status_code == 503 and "model endpoint http://proxyuser:***@127.0.0.1" in answers[3].text
    assert "retry 1/5" in log and "proxyuser:***@127.0.0.1" in log  # retries are logged, redacted
    everything = "\n".join(answer.text for answer in answers) + log
    for secret in (PROXY_PASSWORD, DB_PASSWORD, MODEL_KEY, CLIENT_KEY):
        assert secret not in everything, secret


def test_a_refused_database_url_is_named_without_its_password(tmp_path):
    from tests.support.serving import server_env, start

    for db in (
        f"postgresql://spri:{DB_PASSWORD}@127.0.0.1:{free_port()}/runs",
        f"postgresql://spri@127.0.0.1:{free_port()}/runs?password={DB_PASSWORD}",
        f"mysql://spri:{DB_PASSWORD}@127.0.0.1/runs",
    ):
        with pytest.raises(AssertionError, match="did not come up") as refused:
            start(tmp_path, server_env(tmp_path, SPRI_SERVE_DB=db), timeout=60)
        message = str(refused.value)
        assert "spri: error: " in message and DB_PASSWORD not in message
        assert "127.0.0.1" in message
