"""What the server takes from a client before anything runs (request bodies, thread ids), how it writes
client text into its log, and the answers for a database that is down or a thread that is busy."""

from __future__ import annotations

import json
import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

from spri.api import DatabaseUnavailable, ThreadBusy
from spri.server.body import MAX_DEPTH, BadBody, check_json_body
from spri.server.errors import classify
from spri.server.logs import JsonFormatter, TextFormatter, escaped
from spri.server.threads import thread_id_problem


@pytest.mark.parametrize(
    "body,reason",
    [
        (b'{"x": 1e999}', "number out of range"),
        (b'{"x": -1e999}', "number out of range"),
        (b'{"x": NaN}', "NaN, which is not a JSON number"),
        (b'{"x": -Infinity}', "-Infinity, which is not a JSON number"),
        (b'{"x": ' + b"9" * 5000 + b"}", "more than 64 characters"),
        (b'{"x": 1.' + b"0" * 5000 + b"}", "more than 64 characters"),
        (b"[" * 5000 + b"]" * 5000, f"nested more than {MAX_DEPTH} levels deep"),
        (b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1), f"nested more than {MAX_DEPTH} levels deep"),
        (b'{"x": "caf\xe9"}', "not UTF-8 (invalid continuation byte at byte 10)"),
        (b'{"x": "\\ud800"}', "lone surrogate (\\ud800)"),
        (b'{"\\udc00": 1}', "lone surrogate (\\udc00)"),
        (b'{"x": ', "not valid JSON"),
        (b"", "not valid JSON"),
    ],
)
def test_bodies_the_server_refuses(body, reason):
    with pytest.raises(BadBody, match=reason.replace("(", r"\(").replace(")", r"\)").replace("\\u", "\\\\u")):
        check_json_body(body)


def test_bodies_the_server_takes():
    data = {
        "input": {"query": "Café 😀 \u2028", "resume": [[["approve"]]]},
        "config": {"configurable": {"max_rounds": 4}},
    }
    assert check_json_body(json.dumps(data).encode()) == data
    assert check_json_body(json.dumps(data, ensure_ascii=False).encode()) == data
    nested: list = []
    for _ in range(MAX_DEPTH - 1):
        nested = [nested]
    assert check_json_body(json.dumps(nested).encode()) == nested


@pytest.mark.parametrize(
    "thread_id,problem",
    [
        ("plain", None),
        ("with space:colon?#&%", None),
        ("ünïcödé", None),
        ("x" * 200, None),
        ("x" * 201, "at most 200"),
        ("a/b", "'/'"),
        ("a\nb", "control characters"),
        ("a\x1b[2J", "control characters"),
        ("a\u2028b", "control characters"),
        ("a\u202eb", "control characters"),
        ("\ud800", "control characters"),
        ("", "non-empty"),
        (5, "non-empty string"),
    ],
)
def test_thread_ids_a_client_may_use(thread_id, problem):
    found = thread_id_problem(thread_id)
    assert (found is None) if problem is None else (problem in (found or "")), found


@given(st.text())
def test_a_text_log_line_stays_one_line_whatever_a_client_sends(text):
    shown = escaped(text)
    assert shown.isprintable() and "\n" not in shown and "\r" not in shown
    record = logging.LogRecord("spri.server", logging.INFO, __file__, 1, "thread_id=%s done", (text,), None)
    line = TextFormatter().format(record)
    assert "\n" not in line and line.endswith(" done")


def test_log_lines_are_redacted_in_both_formats():
    record = logging.LogRecord(
        "spri.server", logging.ERROR, __file__, 1, "cause=cannot reach %s", ("http://u:hunter2pass@h/v1",), None
    )
    for formatter in (TextFormatter(), JsonFormatter()):
        line = formatter.format(record)
        assert "hunter2pass" not in line and "http://u:***@h/v1" in line


def test_a_database_that_is_down_is_503_and_a_busy_thread_409():
    down = classify(DatabaseUnavailable("checkpoint database postgresql://db/x is unavailable: gone"), "t1")
    assert (down.status, down.kind, down.headers()) == (503, "database_unavailable", {"Retry-After": "5"})
    assert down.detail == "checkpoint database postgresql://db/x is unavailable: gone"
    busy = classify(ThreadBusy("alice:t1"), "t1")  # the id as the client sent it, not its key's namespace
    assert (busy.status, busy.kind, busy.headers()) == (409, "thread_busy", {})
    assert busy.detail == "thread 't1' is busy: another run is using it; try again when that run has finished"

    class OperationalError(Exception):
        __module__ = "psycopg"

    raw = classify(OperationalError("the connection is closed"), "t1")
    assert (raw.status, raw.kind) == (503, "database_unavailable")
