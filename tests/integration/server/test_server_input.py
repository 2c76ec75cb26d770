"""No client input makes `spri serve` answer 500 or log a traceback: numbers out of range, NaN, 5000-digit
numbers, deep nesting, bytes that are not UTF-8, lone surrogates, wrong types (422 before) all get 400
with the usual ``{detail, error, thread_id}`` body, on a keep-alive connection that stays usable.
Thread ids cannot forge log lines: control characters are refused, and escaped in the log line of the
request that carried them; an id is readable back through GET, and ids with '/' (which GET cannot
carry) are refused."""

from __future__ import annotations

import json
import socket
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.support.openai_server import OpenAIServer
from tests.support.policies import deterministic
from tests.support.serving import serving


class KeepAlive:
    """One HTTP/1.1 connection, requests written by hand (so nothing on the client side fixes them up)."""

    def __init__(self, url: str) -> None:
        host, port = url.removeprefix("http://").split(":")
        self.sock = socket.create_connection((host, int(port)), timeout=120)
        self.buffer = b""

    def request(self, method: str, path: str, body: bytes = b"", headers: bytes = b"") -> tuple[int, bytes, bytes]:
        head = f"{method} {path} HTTP/1.1\r\nhost: test\r\ncontent-length: {len(body)}\r\n".encode()
        self.sock.sendall(head + headers + b"content-type: application/json\r\n\r\n" + body)
        while b"\r\n\r\n" not in self.buffer:
            self.buffer += self._read()
        raw_head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        length = next(
            int(line.split(b":", 1)[1])
            for line in raw_head.split(b"\r\n")
            if line.lower().startswith(b"content-length")
        )
        while len(self.buffer) < length:
            self.buffer += self._read()
        answer, self.buffer = self.buffer[:length], self.buffer[length:]
        return int(raw_head.split(b" ")[1]), raw_head, answer

    def _read(self) -> bytes:
        chunk = self.sock.recv(65536)
        assert chunk, "the server closed the keep-alive connection"
        return chunk

    def close(self) -> None:
        self.sock.close()


QUERY = b'{"query": "Q?"}'


def option(name: str, literal: str) -> tuple[bytes, bytes]:
    return QUERY, b'{"configurable": {"%s": %s}}' % (name.encode(), literal.encode())


# (what it is, the input, the config): sent to /spri/invoke, /spri/stream and (as a list) /spri/batch
HOSTILE: list[tuple[str, bytes, bytes]] = [
    *[
        (f"{name} {literal[:12]}", *option(name, literal))
        for name in ("max_rounds", "min_score", "random_pick")
        for literal in ("1e999", "-1e999", "NaN", "Infinity", "9" * 5000, "1" + "0" * 400 + ".5")
    ],
    ("nesting 1000 deep", b'{"query": "Q?", "resume": ' + b"[" * 1000 + b"]" * 1000 + b"}", b"{}"),
    ("nesting 40 deep", b'{"query": "Q?", "resume": ' + b"[" * 40 + b"]" * 40 + b"}", b"{}"),
    ("not UTF-8", b'{"query": "caf\xe9 \xff"}', b"{}"),
    ("lone surrogate in the query", b'{"query": "\\ud800"}', b"{}"),
    ("lone surrogate in a thread id", *option("thread_id", '"\\udfff"')),
    ("lone surrogate in a key", b'{"query": "Q?", "extra": {"\\ud83d": "x"}}', b"{}"),
    ("a number as the query (422 before)", b'{"query": 5}', b"{}"),
    ("config not an object (422 before)", QUERY, b"5"),
    ("thread id with a newline", *option("thread_id", json.dumps("t1\nINFO spri.server[1]: forged"))),
    ("thread id with a slash", *option("thread_id", '"a/b"')),
    ("thread id with an escape", *option("thread_id", json.dumps("t\x1b[2J"))),
    ("max_rounds of the wrong type", *option("max_rounds", '"many"')),
    ("max_rounds too large", *option("max_rounds", "21")),
]
RAW = [("not JSON", b"{input: query}"), ("empty", b""), ("a JSON string", b'"Q?"')]


def bodies() -> list[tuple[str, str, bytes]]:
    """(what, route, body) for every hostile input on every route."""
    found = []
    for name, inputs, config in HOSTILE:
        found.append((name, "invoke", b'{"input": %s, "config": %s}' % (inputs, config)))
        found.append((name, "stream", b'{"input": %s, "config": %s}' % (inputs, config)))
        found.append((name, "batch", b'{"inputs": [%s], "config": %s}' % (inputs, config)))
    found += [(name, route, body) for name, body in RAW for route in ("invoke", "stream", "batch")]
    return found


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    home = tmp_path_factory.mktemp("serve")
    with OpenAIServer(deterministic) as model, serving(home, OPENAI_BASE_URL=model.base_url) as running:
        yield running, model


def test_hostile_bodies_get_400_and_the_connection_stays_usable(server):
    running, model = server
    before = len(model.requests)
    connection = KeepAlive(running.url)
    try:
        for name, route, body in bodies():
            status, head, answer = connection.request("POST", f"/spri/{route}", body)
            assert status == 400, (name, route, status, answer[:300])
            data = json.loads(answer)
            assert set(data) == {"detail", "error", "thread_id"} and data["error"] == "bad_request", (name, data)
            assert isinstance(data["detail"], str) and b"connection: close" not in head.lower(), (name, head)
        status, _, answer = connection.request("POST", "/spri/invoke", b'{"input": {"query": "Q?"}}')
        assert status == 200 and json.loads(answer)["output"]["calls"] == 8  # same connection, still served
    finally:
        connection.close()
    assert len(model.requests) == before + 8  # no hostile body reached the model
    log = running.wait_for_log("POST /spri/invoke 200")
    assert "Traceback" not in log and " 500 " not in log and "ERROR" not in log


def test_client_text_cannot_forge_a_log_line(server):
    running, _ = server
    forged = "t1\nINFO spri.server[1]: GET 200 0.001s run_id=forged"
    answer = httpx.get(f"{running.url}/spri/threads/{quote(forged, safe='')}", timeout=30)
    assert answer.status_code == 400 and answer.json()["error"] == "bad_request"
    with_slash = httpx.get(f"{running.url}/spri/threads/{quote('t2/x' + chr(10) + 'INFO forged', safe='')}", timeout=30)
    assert with_slash.status_code == 404 and set(with_slash.json()) == {"detail", "error", "thread_id"}
    escape = httpx.get(f"{running.url}/spri/threads/{quote(chr(0x1B) + '[2J' + chr(0x2028), safe='')}", timeout=30)
    assert escape.status_code == 400
    log = running.wait_for_log("\\x1b[2J\\u2028")
    lines = log.splitlines()
    assert any(line.endswith("calls=0") and "/spri/threads/t1\\nINFO spri.server[1]: GET" in line for line in lines)
    assert any("/spri/threads/t2/x\\nINFO forged 404" in line for line in lines)
    assert not any(line.startswith(("INFO spri.server[1]", "INFO forged")) for line in lines)


def test_any_thread_id_a_client_may_use_is_readable_back(server):
    running, _ = server
    for thread in ("plain-1", "with space", "ünïcödé:colon?#&%", "x" * 200):
        done = httpx.post(running.url + "/spri/invoke", json=body_on(thread), timeout=120)
        assert done.status_code == 200 and done.json()["output"]["thread_id"] == thread
        read = httpx.get(f"{running.url}/spri/threads/{quote(thread, safe='')}", timeout=30)
        assert read.status_code == 200 and read.json()["result"]["thread_id"] == thread
    for refused in ("a/b", "x" * 201, "tab\there"):
        answer = httpx.post(running.url + "/spri/invoke", json=body_on(refused), timeout=30)
        assert answer.status_code == 400 and "thread_id" in answer.json()["detail"], refused


def body_on(thread: str) -> dict[str, Any]:
    return {"input": {"query": "Q?"}, "config": {"configurable": {"thread_id": thread}}}
