"""uvicorn's h11 protocol with the guards uvicorn lacks against idle or slow clients.

- **Read timeout**: a request (head and body) must arrive within ``read_timeout`` seconds of its first
  byte, or of the connection opening; otherwise the connection is closed. uvicorn itself has no header
  timeout, so a client sending half a request line and nothing more kept its connection for ever.
- **Head size**: a request head over ``max_head_bytes`` gets 431 and the connection is closed (h11's own
  limit is checked only while an event is incomplete, so one large packet passed it).
- **Connection cap**: at ``max_connections`` open connections, a new one first evicts the oldest
  connection that has no request in flight (never one that is being answered); if every connection is busy
  the new one gets 503. Idle clients can therefore neither exhaust file descriptors nor lock out others.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from uvicorn.config import Config
from uvicorn.protocols.http.h11_impl import H11Protocol

LOGGER = logging.getLogger("spri.server")
LINGER = 2.0
"""Seconds a rejected connection is drained before it is closed."""

REFUSED = b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
HEAD_TOO_LARGE = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"


class GuardConfig(Config):
    """uvicorn's Config plus the guards' limits (pickled with it into every worker)."""

    def __init__(
        self,
        *args: Any,
        read_timeout: float = 10.0,
        max_connections: int = 512,
        max_head_bytes: int = 32 * 1024,
        **kwargs: Any,
    ) -> None:
        kwargs.update(http=GuardedH11Protocol, h11_max_incomplete_event_size=max_head_bytes)
        super().__init__(*args, **kwargs)
        self.read_timeout = read_timeout
        self.max_connections = max_connections
        self.max_head_bytes = max_head_bytes


class GuardedH11Protocol(H11Protocol):
    def __init__(self, config: Config, *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)
        self.read_timeout: float = getattr(config, "read_timeout", 10.0)
        self.max_connections: int = getattr(config, "max_connections", 512)
        self.max_head_bytes: int = getattr(config, "max_head_bytes", 32 * 1024)
        self.opened = time.monotonic()
        self.head_bytes = 0
        self.read_deadline: asyncio.TimerHandle | None = None
        self.discarding = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        if len(self.connections) >= self.max_connections and not self._evict_idle():
            LOGGER.warning("connection refused: %d connections, all busy", len(self.connections))
            transport.write(REFUSED)
            transport.close()
            return
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if self.transport is None:  # refused in connection_made
            return
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.discarding:
            return
        if self.awaiting_request():
            self._arm()
            end = data.find(b"\r\n\r\n")  # where the head ends, if it ends in this chunk
            size = self.head_bytes + (end + 4 if end >= 0 else len(data))
            if size > self.max_head_bytes:
                self._reject(HEAD_TOO_LARGE)
                return
            self.head_bytes = 0 if end >= 0 else size
        super().data_received(data)
        if not self.awaiting_request() and not self.cycle.more_body:
            self._disarm()  # the whole request is in: the app's time is not bounded here

    def _reject(self, answer: bytes) -> None:
        """Answer, then close gently: stop sending, read and drop what the client still sends for a moment
        (closing with unread data would reset the connection and could lose the answer)."""
        self.transport.write(answer)
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.discarding = True
        self._disarm()
        self.loop.call_later(LINGER, self.transport.close)

    def awaiting_request(self) -> bool:
        """No request in flight: before the first request or after the last response."""
        return self.cycle is None or self.cycle.response_complete

    def _arm(self) -> None:
        if self.read_deadline is None:
            self.read_deadline = self.loop.call_later(self.read_timeout, self._read_timed_out)

    def _disarm(self) -> None:
        if self.read_deadline is not None:
            self.read_deadline.cancel()
            self.read_deadline = None

    def _read_timed_out(self) -> None:
        self.read_deadline = None
        if not self.transport.is_closing():
            self.transport.close()

    def _evict_idle(self) -> bool:
        """Close the oldest connection with no request in flight (one that never sent a whole request
        before a keep-alive one); False if there is none."""
        idle = [
            c for c in self.connections if isinstance(c, GuardedH11Protocol) and c.awaiting_request() and c.transport
        ]
        if not idle:
            return False
        oldest = min(idle, key=lambda c: (c.cycle is not None, c.opened))  # never-used ones first
        oldest.transport.close()
        self.connections.discard(oldest)
        return True
