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
"""

from __future__ import annotations

import select
from collections.abc import Iterable
from typing import Any

from spri.compat import replace_network_backend

try:  # the openai SDK's HTTP stack (httpx2 and httpcore2 from openai 3, httpx and httpcore before)
    import httpcore2 as httpcore
except ImportError:  # pragma: no cover - older openai
    import httpcore  # type: ignore[no-redef]


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


def keep_sockets(client: Any) -> bool:
    """Put :class:`SocketKeepingBackend` under the direct (not proxied) connection pool of an httpx
    client (once); False, leaving the client as it was, if that pool is not where this httpx version
    keeps it (``spri.compat``)."""

    def kept(backend: Any) -> Any:
        return backend if isinstance(backend, SocketKeepingBackend) else SocketKeepingBackend(backend)

    return replace_network_backend(client, httpcore.AsyncConnectionPool, kept)


def http_client(retries: int = 0) -> Any:
    """A new HTTP client with the SDK's limits, timeouts and redirects that retries ``retries`` times,
    announcing each retry (:class:`spri.models.retrying.RetryingHttpClient`), with :func:`keep_sockets`
    applied."""
    from spri.models.retrying import RetryingHttpClient

    client = RetryingHttpClient(retries)
    keep_sockets(client)
    return client
