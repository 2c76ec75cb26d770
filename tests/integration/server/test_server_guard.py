"""Idle and slow clients against `spri serve`: connections past the cap evict idle ones (so idle,
unauthenticated connections cannot exhaust file descriptors or lock others out), a request must arrive
within --read-timeout, and request heads are bounded in size."""

from __future__ import annotations

import os
import select
import socket
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import httpx

from tests.support.openai_server import OpenAIServer
from tests.support.policies import deterministic
from tests.support.processes import eventually
from tests.support.serving import SpriServer, serving

PARTIAL_HEAD = b"POST /spri/invoke HTTP/1.1\r\nHost: 127.0.0.1\r\n"  # ... and never the rest
KEY = "guard-key-123456"


def connect(server: SpriServer) -> socket.socket:
    host, port = server.url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=30)


def closed_by_server(sock: socket.socket, wait: float = 0.0) -> bool:
    """True once the server has closed the connection (read gives EOF or a reset). These clients never
    finish a request, so the server has nothing else to send them."""
    readable, _, _ = select.select([sock], [], [], wait)
    if not readable:
        return False
    try:
        return sock.recv(65536) == b""
    except OSError:
        return True


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


@contextmanager
def idle_connections(
    server: SpriServer, count: int, first_bytes: bytes = PARTIAL_HEAD
) -> Iterator[list[socket.socket]]:
    with ExitStack() as stack:
        sockets = []
        for _ in range(count):
            sock = stack.enter_context(connect(server))
            if first_bytes:
                sock.sendall(first_bytes)
            sockets.append(sock)
        yield sockets


def authorized_invoke(server: SpriServer) -> httpx.Response:
    return httpx.post(
        server.url + "/spri/invoke",
        json={"input": {"query": "Still served?"}},
        headers={"Authorization": f"Bearer {KEY}"},
        timeout=120,
    )


def test_idle_unauthenticated_connections_cannot_exhaust_the_server(tmp_path):
    with (
        OpenAIServer(deterministic) as model,
        serving(
            tmp_path,
            "--max-connections",
            "40",
            "--read-timeout",
            "600",
            OPENAI_BASE_URL=model.base_url,
            SPRI_API_KEY=KEY,
        ) as server,
    ):
        before = open_fds(server.proc.pid)
        with idle_connections(server, 300) as sockets, idle_connections(server, 100, b"") as silent:
            held = eventually(lambda: open_fds(server.proc.pid), lambda fds: fds - before <= 45)
            assert held - before <= 45  # 400 clients, at most the cap of connections held open
            evicted = sum(closed_by_server(sock, 0.2) for sock in sockets + silent)
            assert evicted >= 400 - 40
            response = authorized_invoke(server)  # a real client still gets in, evicting an idle one
            assert response.status_code == 200 and response.json()["output"]["calls"] == 8


def test_a_request_must_arrive_within_the_read_timeout(tmp_path):
    with (
        OpenAIServer(deterministic) as model,
        serving(tmp_path, "--read-timeout", "1", OPENAI_BASE_URL=model.base_url, SPRI_API_KEY=KEY) as server,
    ):
        with idle_connections(server, 3) as stalled, idle_connections(server, 3, b"") as silent:
            for sock in stalled + silent:
                assert closed_by_server(sock, 60)
        with connect(server) as slow_body:  # the head arrives, the promised body never does
            head = (
                f"POST /spri/invoke HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {KEY}\r\nContent-Length: 100\r\n\r\n"
            )
            slow_body.sendall(head.encode() + b"{")
            assert closed_by_server(slow_body, 60)
        assert authorized_invoke(server).status_code == 200  # a whole request is not timed once it is in


def test_oversized_request_heads_get_431(tmp_path):
    with (
        OpenAIServer(deterministic) as model,
        serving(tmp_path, "--max-header-bytes", "8192", OPENAI_BASE_URL=model.base_url) as server,
    ):
        with connect(server) as at_once:  # one packet: h11's own limit does not see it
            at_once.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20_000 + b"\r\n\r\n")
            assert at_once.recv(100).startswith(b"HTTP/1.1 431")
        with connect(server) as dribbled:  # line by line, far past the limit
            dribbled.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
            for i in range(40):
                dribbled.sendall(f"X-Line-{i}: {'b' * 1000}\r\n".encode())
            assert dribbled.recv(100).startswith(b"HTTP/1.1 431")
        ok = httpx.get(server.url + "/health", headers={"X-Fine": "c" * 4000}, timeout=30)
        assert ok.status_code == 200
