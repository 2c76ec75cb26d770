"""The HTTP client of openai:NAME models keeps each connection's socket for the pool's idle checks
(spri.models.http_client): requests, connection reuse and the dropping of connections a server closed
behave as with the SDK's client as it comes."""

from __future__ import annotations

import asyncio
import contextlib
import socket

import pytest

from spri import models
from spri.compat import network_backend
from spri.models.http_client import (
    ShardedTransport,
    SocketKeepingBackend,
    http_client,
    is_readable,
    keep_sockets,
    transports,
)
from tests.support.openai_server import OpenAIServer, Reply

BODY = b'{"ok": true}'


class KeepAliveServer:
    """An HTTP/1.1 server answering every request with BODY on a kept-alive connection; with
    ``hang_up`` it closes each connection, unannounced, right after its first answer."""

    def __init__(self, hang_up: bool) -> None:
        self.hang_up = hang_up
        self.connections = 0
        self.requests = 0

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while await reader.readuntil(b"\r\n\r\n"):
                self.requests += 1
                head = f"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {len(BODY)}\r\n\r\n"
                writer.write(head.encode() + BODY)
                await writer.drain()
                if self.hang_up:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()


async def three_requests(client, hang_up: bool) -> KeepAliveServer:
    """Three requests one after another (a pause between, so a hang-up reaches the client first)."""
    server = KeepAliveServer(hang_up)
    listener = await asyncio.start_server(server.serve, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    try:
        for _ in range(3):
            response = await client.get(f"http://127.0.0.1:{port}/v1/models")
            assert response.status_code == 200 and response.content == BODY
            await asyncio.sleep(0.05)
    finally:
        await client.aclose()
        listener.close()
    return server


@pytest.mark.parametrize("hang_up", [False, True])
async def test_connections_are_reused_and_dropped_as_with_the_sdk_client(hang_up):
    import openai

    ours = await three_requests(http_client(), hang_up)
    theirs = await three_requests(openai.DefaultAsyncHttpxClient(), hang_up)
    assert ours.requests == theirs.requests == 3
    assert ours.connections == theirs.connections == (3 if hang_up else 1)


async def test_the_idle_check_reads_the_kept_socket(monkeypatch):
    seen = []

    def readable(sock):
        seen.append(sock)
        return is_readable(sock)

    monkeypatch.setattr("spri.models.http_client.is_readable", readable)
    server = await three_requests(http_client(), hang_up=True)
    assert server.connections == 3
    assert len(seen) >= 2 and all(sock is not None for sock in seen)  # each idle connection, before reuse


def test_openai_models_get_the_socket_keeping_pool(monkeypatch):
    """With the installed httpx/httpcore the backend is in place (an upgrade that moves it fails here)."""
    import openai

    monkeypatch.setenv("OPENAI_API_KEY", "test")
    assert keep_sockets(openai.DefaultAsyncHttpxClient())
    client = models.chat_openai("fake", base_url="http://127.0.0.1:9/v1").http_async_client
    backend = network_backend(client._transport.shards[0])
    assert isinstance(backend, SocketKeepingBackend)
    assert not isinstance(backend.backend, SocketKeepingBackend)
    assert keep_sockets(client)  # a second time does not wrap twice
    assert network_backend(client._transport.shards[0]) is backend


def test_a_client_without_that_pool_is_left_as_it_was():
    """spri.compat's fallback: an httpx whose pool is not where this one keeps it (or not the type it
    was checked with) keeps the SDK's client as it comes, and requests still go through."""

    class Elsewhere:
        _transport = object()

    assert not keep_sockets(Elsewhere())


async def test_a_pool_of_another_kind_keeps_its_backend_and_works(monkeypatch):
    from spri.models import http_client as module

    elsewhere = type("Httpcore", (), {"AsyncConnectionPool": type("OtherPool", (), {})})
    monkeypatch.setattr(module, "httpcore", elsewhere)  # as if this httpx's pool were another kind
    client = http_client()
    assert not any(isinstance(network_backend(each), SocketKeepingBackend) for each in transports(client))
    server = await three_requests(client, hang_up=True)
    assert server.requests == server.connections == 3


def test_is_readable():
    a, b = socket.socketpair()
    try:
        assert not is_readable(a)
        b.send(b"x")
        assert is_readable(a)
        a.recv(1)
        b.close()
        assert is_readable(a)  # the end of the stream
    finally:
        a.close()
    assert is_readable(a)  # closed: no file descriptor
    assert is_readable(None)


async def test_a_model_call_goes_through_it(monkeypatch):
    with OpenAIServer(lambda request: Reply(text="Hello.")) as server:
        monkeypatch.setenv("OPENAI_API_KEY", "test")
        model = models.chat_openai("fake", base_url=server.base_url)
        replies = [await model.ainvoke("Hi") for _ in range(2)]
    assert [reply.content for reply in replies] == ["Hello.", "Hello."]


def test_the_shards_share_the_sdks_limits():
    import openai

    limits = openai.DEFAULT_CONNECTION_LIMITS
    client = http_client()
    transport = client._transport
    assert isinstance(transport, ShardedTransport) and len(transport.shards) > 1
    pools = [shard._pool for shard in transport.shards]
    assert sum(pool._max_connections for pool in pools) >= limits.max_connections
    assert sum(pool._max_connections for pool in pools) < limits.max_connections + len(pools)
    assert sum(pool._max_keepalive_connections for pool in pools) < limits.max_keepalive_connections + len(pools)


async def test_requests_at_once_spread_over_the_shards_and_one_at_a_time_reuse_one_connection():
    server = KeepAliveServer(hang_up=False)
    listener = await asyncio.start_server(server.serve, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{listener.sockets[0].getsockname()[1]}/v1/models"
    client = http_client()
    transport = client._transport
    shards = len(transport.shards)
    try:
        for _ in range(3):  # one at a time: the first shard, one connection
            assert (await client.get(url)).content == BODY
        assert server.connections == 1 and transport.open == [0] * shards
        async with contextlib.AsyncExitStack() as stack:  # as many at once as there are shards
            responses = [await stack.enter_async_context(client.stream("GET", url)) for _ in range(shards)]
            assert transport.open == [1] * shards  # each response open until its body is read
            assert [await response.aread() for response in responses] == [BODY] * shards
        assert transport.open == [0] * shards
        assert server.connections == shards  # the first shard's connection was reused, one new per other shard
    finally:
        await client.aclose()
        listener.close()


async def test_a_failed_request_leaves_no_open_count():
    client = http_client()
    transport = client._transport
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]  # bound, not listening: connections are refused
        for _ in range(3):
            with pytest.raises(Exception):  # noqa: B017 (httpx's ConnectError, from whichever httpx)
                await client.get(f"http://127.0.0.1:{port}/v1/models")
    assert transport.open == [0] * len(transport.shards)
    await client.aclose()
