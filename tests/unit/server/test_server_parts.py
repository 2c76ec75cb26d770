"""The server's pure parts: failures to HTTP answers, secrets kept out of them, settings from the
environment, metrics labels."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from types import SimpleNamespace
from typing import Any

import pytest
from langchain_core import exceptions as lc

from spri.api import SpriError, default_db, redact
from spri.server.errors import RunFailed, classify, client_error, node_of, retry_after_of, run_failure_in
from spri.server.metrics import role_of, stage_of
from spri.server.middleware import method_of, route_of
from spri.server.settings import KEY_RULE, ServerSettings, SettingsError, default_server_db, parse_named_keys


def in_node(exc: BaseException, node: str = "judge_response") -> BaseException:
    exc.add_note(f"During task with name '{node}' and id '0f'")
    return exc


@pytest.mark.parametrize(
    "exc,status,kind",
    [
        (lc.ModelTimeoutError("slow"), 504, "upstream_timeout"),
        (TimeoutError(), 504, "upstream_timeout"),
        (lc.ModelConnectionError("refused"), 502, "upstream_unreachable"),
        (lc.ModelRateLimitError("later"), 429, "rate_limited"),
        (lc.ModelAuthenticationError("who"), 502, "upstream_auth"),
        (lc.ModelAPIError("boom"), 502, "upstream_error"),
        (lc.ContextOverflowError("long"), 422, "input_too_long"),
        (in_node(SpriError("the base model returned an empty reply twice")), 502, "upstream_error"),
        (SpriError("input field 'goal': missing"), 400, "bad_request"),
        (ValueError("a bug"), 500, "internal"),
    ],
)
def test_failures_map_to_http_answers(exc, status, kind):
    failure = classify(exc, "t1")
    assert (failure.status, failure.kind, failure.thread_id) == (status, kind, "t1")
    assert failure.body() == {"detail": failure.detail, "error": kind, "thread_id": "t1"}
    assert ("Retry-After" in failure.headers()) == (status == 429)


def test_the_node_a_failure_came_from():
    assert node_of(in_node(ValueError(), "draft_principles")) == "draft_principles"
    assert node_of(ValueError()) is None
    assert classify(in_node(lc.ModelConnectionError("x"), "judge_principles"), None).node == "judge_principles"


def test_retry_after_from_seconds_a_date_or_the_default():
    def limited(value: str | None) -> BaseException:
        exc = lc.ModelRateLimitError("later")
        exc.response = SimpleNamespace(headers={"retry-after": value} if value else {})  # type: ignore[attr-defined]
        return exc

    assert retry_after_of(limited("7")) == 7
    assert retry_after_of(limited("0.2")) == 1
    soon = format_datetime(datetime.now(UTC) + timedelta(seconds=120), usegmt=True)
    assert 100 <= retry_after_of(limited(soon)) <= 121
    assert retry_after_of(limited(None)) == 5
    assert retry_after_of(limited("soon")) == 5


def test_keys_never_reach_a_detail(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-very-secret-value")
    monkeypatch.setenv("SPRI_API_KEYS", "alice:alice-key-123456 bob:bob-key-1234567")
    text = "rejected sk-very-secret-value; alice-key-123456 and bob-key-1234567"
    assert redact(text) == "rejected ***; *** and ***"
    assert "sk-very" not in client_error("key sk-very-secret-value refused").failure.detail


def test_a_run_failure_is_found_however_it_is_wrapped():
    failed = client_error("no")
    try:
        try:
            raise failed
        except RunFailed as exc:
            raise RuntimeError("response already started") from exc
    except RuntimeError as wrapped:
        assert run_failure_in(wrapped) is failed
        assert run_failure_in(ExceptionGroup("tasks", [ValueError(), wrapped])) is failed
    assert run_failure_in(ValueError()) is None


def test_named_keys_parse_and_bad_ones_are_named():
    assert parse_named_keys("alice:k-0123456789abcdef, bob:k-fedcba9876543210\ncarol:k-5555555555555555") == {
        "alice": "k-0123456789abcdef",
        "bob": "k-fedcba9876543210",
        "carol": "k-5555555555555555",
    }
    for bad, fragment in [
        ("alice", "NAME:KEY"),
        ("al ice:k-0123456789abcdef", "NAME:KEY"),
        ("alice:short", "key of 'alice': API keys need at least 16 characters"),
        ("alice:k-0123456789abcdef alice:k-999999999999999", "names 'alice' twice"),
        ("alice:k-0123456789abcdef bob:k-0123456789abcdef", "same key"),
    ]:
        with pytest.raises(SettingsError, match=fragment) as refused:
            parse_named_keys(bad)
        assert "short" not in str(refused.value)  # a key is never shown


@pytest.mark.parametrize("variable,value", [("SPRI_API_KEY", "abc"), ("SPRI_API_KEYS", "alice:KEY1 bob:KEY2")])
def test_one_rule_for_every_api_key(monkeypatch, isolated_env, variable, value):
    """A shared key and named keys follow one rule (16 characters or more), and the error states it."""
    for name in ("SPRI_API_KEY", "SPRI_API_KEYS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError, match=f"{variable}.*API keys need {re.escape(KEY_RULE)}"):
        ServerSettings.from_env()
    monkeypatch.setenv(
        variable, value.replace("abc", "abc" * 6).replace("KEY1", "KEY1" * 4).replace("KEY2", "KEY2" * 4)
    )
    assert ServerSettings.from_env().auth


def test_settings_from_the_environment(monkeypatch, isolated_env):
    for name in (
        "SPRI_SERVE_DB",
        "SPRI_API_KEY",
        "SPRI_API_KEYS",
        "SPRI_LOG_FORMAT",
        "SPRI_MAX_BODY",
        "SPRI_THREAD_TTL",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SPRI_DB", "/tmp/the-cli-database.sqlite")
    settings = ServerSettings.from_env()
    assert settings.db == default_server_db() != default_db()  # the CLI's database is not the server's
    assert settings.db.endswith("serve.sqlite") and not settings.auth
    monkeypatch.setenv("SPRI_API_KEY", "shared-key-0123456789")
    monkeypatch.setenv("SPRI_API_KEYS", "alice:alice-key-0123456789")
    with pytest.raises(SettingsError, match="not both"):
        ServerSettings.from_env()
    monkeypatch.delenv("SPRI_API_KEY")
    monkeypatch.setenv("SPRI_LOG_FORMAT", "xml")
    with pytest.raises(SettingsError, match="SPRI_LOG_FORMAT"):
        ServerSettings.from_env()
    monkeypatch.setenv("SPRI_LOG_FORMAT", "json")
    monkeypatch.setenv("SPRI_MAX_BODY", "lots")
    with pytest.raises(SettingsError, match="SPRI_MAX_BODY must be a number"):
        ServerSettings.from_env()
    monkeypatch.delenv("SPRI_MAX_BODY")
    assert ServerSettings.from_env().thread_ttl is None  # threads are kept unless a TTL is set
    monkeypatch.setenv("SPRI_THREAD_TTL", "12h")
    assert ServerSettings.from_env().thread_ttl == timedelta(hours=12)
    monkeypatch.setenv("SPRI_THREAD_TTL", "forever")
    with pytest.raises(SettingsError, match=r"SPRI_THREAD_TTL must be .*e\.g\. 90m"):
        ServerSettings.from_env()


def test_metrics_labels_stay_few():
    assert route_of("/spri/invoke") == "/spri/invoke"
    assert route_of("/spri/threads/abc-123") == "/spri/threads/{id}"
    assert route_of("/spri/playground/assets/index.js") == "/spri/playground"
    assert route_of("/wp-admin.php") == "other" and route_of("/spri/c/abc/xyz-123") == "other"
    assert method_of("POST") == "POST" and method_of("BREW") == "OTHER"
    assert role_of(["seq:step:1", "spri:critic"]) == "critic" and role_of(None) == "other"
    assert stage_of({"langgraph_node": "refine_principles"}) == "principles"
    assert stage_of({"langgraph_node": "finalize"}) == "finalize" and stage_of(None) == "other"


def test_schemas_the_playground_can_render_still_accept_none():
    import json

    from spri.server.service import SpriService

    service = SpriService(None)
    config = service.config_schema(include=["configurable"])
    for schema in (service.get_input_schema(), config, service.get_output_schema()):
        text = json.dumps(schema.model_json_schema())
        assert '{"type": "null"}' not in text and '"type": "string"' in text
    assert config.model_validate({"configurable": {"thread_id": None, "min_score": 3}}).configurable.thread_id is None
    assert service.get_input_schema().model_validate({"query": None}).query is None


def test_ready_names_endpoints_without_their_credentials(monkeypatch):
    from spri.server.health import endpoints

    monkeypatch.setenv("OPENAI_BASE_URL", "https://user:pa55word@llm.internal:8443/v1/")
    assert endpoints(["openai:m", "local", "anthropic:claude"]) == {
        "model endpoint https://user:***@llm.internal:8443/v1": "https://user:pa55word@llm.internal:8443/v1",
        "embedded model (in process)": None,
        "model anthropic:claude (not probed)": None,
    }


def test_clients_may_choose_the_papers_protocol_but_not_a_model():
    from spri.server.client_options import ClientConfigError, check_client_options

    assert check_client_options({"protocol": "paper", "random_pick": 3}) == {"protocol": "paper", "random_pick": 3}
    assert check_client_options({"random_seed": 3}) == {"random_pick": 3}  # its former name
    assert check_client_options({"speculate": True}) == {"speculate": True}
    with pytest.raises(ClientConfigError, match="not allowed: model"):
        check_client_options({"model": "openai:gpt-4o"})


def test_clients_may_bound_how_much_of_a_conversation_the_prompts_show():
    from spri.server.client_options import ClientConfigError, check_client_options

    assert check_client_options({"conversation_chars": 800}) == {"conversation_chars": 800}
    with pytest.raises(ClientConfigError, match="conversation_chars: Input should be less than or equal"):
        check_client_options({"conversation_chars": 10**9})


def test_workers_get_time_to_start_on_a_busy_machine(monkeypatch, isolated_env, tmp_path):
    """The supervisor of --workers N waits 30 s for a worker's health check, not uvicorn's 5 s, which
    kills workers still importing on a loaded machine over and over."""
    import uvicorn.supervisors

    from spri.server import run

    started: list[Any] = []

    class Supervisor:
        def __init__(self, config: Any, sockets: Any) -> None:
            started.append(config)
            for each in sockets:
                each.close()

        def run(self) -> None:
            pass

    monkeypatch.setattr(uvicorn.supervisors, "Multiprocess", Supervisor)
    monkeypatch.setattr(run, "preflight", lambda settings: None)
    monkeypatch.setenv("SPRI_SERVE_DB", str(tmp_path / "serve.sqlite"))
    run.serve(run.RunOptions(host="127.0.0.1", port=0, workers=2))
    assert [config.timeout_worker_healthcheck for config in started] == [30]
