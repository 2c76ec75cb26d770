"""The HTTP client of ``openai:NAME`` models: the openai SDK's default async client, retrying (and
announcing each retry, spri.models.retrying), whose connection pool checks idle connections without
re-deriving their socket on every check.

Each time a request joins or leaves the pool, httpcore asks every idle connection whether the server
closed it (is its socket readable?). Its anyio stream answers by rebuilding the whole table of socket
attributes (peer and local address included) just to find the socket: with a few dozen connections
open, those checks cost more CPU than the request itself (framework CPU per model call, benchmarks/RESULTS.md).
:class:`SocketKeepingBackend` wraps the pool's network backend so each connection's stream keeps its
socket from the start and answers that question with one ``poll``; everything else (reads, writes,
timeouts, TLS, errors) is the wrapped stream's own.

Each of those passes also walks every connection of the pool, so with a few hundred requests in flight a
model call costs CPU in proportion to the number in flight. :class:`ShardedTransport` spreads requests
over several smaller pools (together holding the SDK's limits), so each pass walks a fraction of them.
"""

from __future__ import annotations

import math
import select
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

from spri.compat import client_transport, replace_network_backend

try:  # the openai SDK's HTTP stack (httpx2 and httpcore2 from openai 3, httpx and httpcore before)
    import httpcore2 as httpcore
    import httpx2 as httpx
except ImportError:  # pragma: no cover - older openai
    import httpcore  # type: ignore[no-redef]
    import httpx  # type: ignore[no-redef]

POOL_SHARDS = 8
"""Connection pools a model's HTTP client spreads its requests over (:class:`ShardedTransport`)."""


def is_readable(sock: Any) -> bool:
    """True if the socket ``sock`` (or None) has data or an end of stream to read now; a closed socket
    counts as readable, as httpcore counts it, so the pool drops its connection."""
    fileno = -1 if sock is None else sock.fileno()
    if fileno < 0:
        return True
    poller = select.poll()
    poller.register(fileno, select.POLLIN)
    return bool(poller.poll(0))


class SocketKeepingStream(httpcore.AsyncNetworkStream):
    """A network stream that looked up its socket once, when it was opened."""

    def __init__(self, stream: httpcore.AsyncNetworkStream) -> None:
        self.stream = stream
        self.socket = stream.get_extra_info("socket")

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self.stream.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self.stream.write(buffer, timeout)

    async def aclose(self) -> None:
        await self.stream.aclose()

    async def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.AsyncNetworkStream:
        return SocketKeepingStream(await self.stream.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            return is_readable(self.socket)
        return self.stream.get_extra_info(info)


class SocketKeepingBackend(httpcore.AsyncNetworkBackend):
    """A network backend whose streams are :class:`SocketKeepingStream` (the wrapped backend connects)."""

    def __init__(self, backend: httpcore.AsyncNetworkBackend) -> None:
        self.backend = backend

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        stream = await self.backend.connect_tcp(host, port, timeout, local_address, socket_options)
        return SocketKeepingStream(stream)

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        return SocketKeepingStream(await self.backend.connect_unix_socket(path, timeout, socket_options))

    async def sleep(self, seconds: float) -> None:
        await self.backend.sleep(seconds)


class ShardedTransport(httpx.AsyncBaseTransport):
    """httpx's own transport, as ``shards`` transports sharing ``limits`` between them. A request goes to
    the one with the fewest responses open (the first of those), so calls one at a time reuse one
    connection as before, while many at once spread over the pools: each holds a ``shards``-th of the
    connections, and the pool's bookkeeping on every request walks that many fewer."""

    def __init__(self, limits: Any, shards: int = POOL_SHARDS, **options: Any) -> None:
        def share(total: int | None) -> int | None:
            return None if total is None else max(1, math.ceil(total / shards))

        each = httpx.Limits(
            max_connections=share(limits.max_connections),
            max_keepalive_connections=share(limits.max_keepalive_connections),
            keepalive_expiry=limits.keepalive_expiry,
        )
        self.shards = [httpx.AsyncHTTPTransport(limits=each, **options) for _ in range(shards)]
        self.open = [0] * shards

    async def handle_async_request(self, request: Any) -> Any:
        index = self.open.index(min(self.open))
        self.open[index] += 1
        try:
            response = await self.shards[index].handle_async_request(request)
        except BaseException:
            self.open[index] -= 1
            raise
        response.stream = ClosingStream(response.stream, lambda: self._closed(index))
        return response

    def _closed(self, index: int) -> None:
        self.open[index] -= 1

    async def aclose(self) -> None:
        for shard in self.shards:
            await shard.aclose()


class ClosingStream(httpx.AsyncByteStream):
    """A response body that calls ``closed`` once, when it is closed."""

    def __init__(self, stream: Any, closed: Callable[[], None]) -> None:
        self.stream = stream
        self.closed: Callable[[], None] | None = closed

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self.stream:
            yield chunk

    async def aclose(self) -> None:
        try:
            await self.stream.aclose()
        finally:
            closed, self.closed = self.closed, None
            if closed is not None:
                closed()


def transports(client: Any) -> list[Any]:
    """The transports that hold ``client``'s direct (not proxied) connection pools."""
    transport = client_transport(client)
    return list(transport.shards) if isinstance(transport, ShardedTransport) else [transport]


def keep_sockets(client: Any) -> bool:
    """Put :class:`SocketKeepingBackend` under each direct (not proxied) connection pool of an httpx
    client (once); False, leaving the client as it was, if a pool is not where this httpx version keeps
    it (``spri.compat``)."""

    def kept(backend: Any) -> Any:
        return backend if isinstance(backend, SocketKeepingBackend) else SocketKeepingBackend(backend)

    return all([replace_network_backend(each, httpcore.AsyncConnectionPool, kept) for each in transports(client)])


def http_client(retries: int = 0) -> Any:
    """A new HTTP client with the SDK's limits (over :class:`ShardedTransport`'s pools), timeouts and
    redirects that retries ``retries`` times, announcing each retry
    (:class:`spri.models.retrying.RetryingHttpClient`), with :func:`keep_sockets` applied."""
    import openai

    from spri.models.retrying import RetryingHttpClient

    client = RetryingHttpClient(retries, transport=ShardedTransport(openai.DEFAULT_CONNECTION_LIMITS))
    keep_sockets(client)
    return client
