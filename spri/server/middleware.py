"""ASGI middleware around the app, outermost first: the per-request record (log line, request metrics),
bearer auth (one shared key or named keys), the body's size limit and JSON checks, and stream error
events rewritten with the run's failure (LangServe sends a generic one)."""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable
from typing import Any

from spri.server import logs, metrics
from spri.server.body import BadBody, check_json_body
from spri.server.errors import GENERIC_STREAM_ERROR, run_failure_in, stream_error_data

ASGIApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]

METHODS = ("GET", "POST", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE")
OPEN_PATHS = ("/health", "/ready")
"""Probes a load balancer calls without a key."""
JSON_BODIES = ("/spri/", "/v1/")
"""Routes whose POST bodies must be sane JSON (checked before the app parses them)."""

ROUTES = {
    "/health",
    "/ready",
    "/metrics",
    *(
        f"/spri/{name}"
        for name in (
            "invoke",
            "batch",
            "stream",
            "stream_log",
            "stream_events",
            "input_schema",
            "output_schema",
            "config_schema",
        )
    ),
    "/v1/chat/completions",
    "/v1/models",
}


def route_of(path: str) -> str:
    """The route a path belongs to, as a metrics label (never the raw path: a thread id is not a label)."""
    if path in ROUTES:
        return path
    if path.startswith("/spri/threads/"):
        return "/spri/threads/{id}"
    if path.startswith("/spri/playground"):
        return "/spri/playground"
    return "other"


def method_of(method: str) -> str:
    """The HTTP method as a metrics label: any token is a valid method, so unknown ones are lumped."""
    return method if method in METHODS else "OTHER"


async def json_response(send: Any, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
    data = json.dumps(body).encode()
    extra = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode()), *extra],
        }
    )
    await send({"type": "http.response.body", "body": data})


class HTTPMiddleware:
    """Passes everything but HTTP requests (lifespan) straight through; subclasses handle ``http``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            await self.http(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def http(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        raise NotImplementedError


class RequestLog(HTTPMiddleware):
    """Opens a :class:`logs.RequestRecord` per request; at the end logs its line and counts it."""

    async def http(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        record = logs.RequestRecord(method=scope.get("method", ""), path=path, route=route_of(path))
        token = logs.CURRENT.set(record)

        async def recording_send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                record.status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            logs.CURRENT.reset(token)
            if record.status is None:
                record.status = 500  # the app raised before answering; uvicorn sends a 500
            logs.log_request(record)
            metrics.count_request(record.route, method_of(record.method), record.status)


class BearerAuth(HTTPMiddleware):
    """With keys configured, every route except the probes needs ``Authorization: Bearer <key>``.
    Keys are compared in constant time, all of them, so timing does not tell which one nearly matched."""

    def __init__(self, app: ASGIApp, keys: dict[str | None, str]) -> None:
        super().__init__(app)
        self.keys = [(name, key.encode()) for name, key in keys.items()]

    def identify(self, token: bytes) -> tuple[bool, str | None]:
        matched, who = False, None
        for name, key in self.keys:
            if hmac.compare_digest(token, key):
                matched, who = True, name
        return matched, who

    async def http(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope.get("path") not in OPEN_PATHS:
            header = dict(scope.get("headers") or []).get(b"authorization", b"")
            token = header[7:] if header.lower().startswith(b"bearer ") else b""
            matched, name = self.identify(token)
            if not matched:
                body = {"detail": "missing or wrong bearer token", "error": "unauthorized", "thread_id": None}
                await json_response(send, 401, body, {"WWW-Authenticate": "Bearer"})
                return
            record = logs.current()
            if record is not None:
                record.key_name = name
        await self.app(scope, receive, send)


class BodyLimit(HTTPMiddleware):
    """Bodies over ``limit`` bytes get 413 before the app sees them; a POST to the runnable's routes
    whose body is not sane JSON (see :mod:`spri.server.body`) gets 400."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        super().__init__(app)
        self.limit = limit

    async def _too_large(self, send: Any) -> None:
        body = {"detail": f"request body over {self.limit} bytes", "error": "body_too_large", "thread_id": None}
        await json_response(send, 413, body)

    async def http(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._too_large(send)
            return
        chunks: list[bytes] = []
        size, more = 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await self._too_large(send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if scope.get("method") == "POST" and scope.get("path", "").startswith(JSON_BODIES):
            try:
                check_json_body(body)
            except BadBody as exc:
                body_error = {"detail": f"the request body {exc}", "error": "bad_request", "thread_id": None}
                await json_response(send, 400, body_error)
                return
        sent = False

        async def replay() -> Any:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


class StreamErrors(HTTPMiddleware):
    """A stream's error event carries the run's failure (status, detail, kind, thread id) instead of
    LangServe's generic ``Internal Server Error``."""

    async def http(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        started = finished = False

        async def rewriting_send(message: dict[str, Any]) -> None:
            nonlocal started, finished
            started = started or message["type"] == "http.response.start"
            finished = message["type"] == "http.response.body" and not message.get("more_body", False)
            record = logs.current()
            body = message.get("body", b"")
            if (
                message["type"] == "http.response.body"
                and record is not None
                and record.failure is not None
                and GENERIC_STREAM_ERROR in body
            ):
                message = {**message, "body": body.replace(GENERIC_STREAM_ERROR, stream_error_data(record.failure))}
            await send(message)

        try:
            await self.app(scope, receive, rewriting_send)
        except Exception as exc:
            # LangServe re-raises after a stream's error event; the failure is answered and logged already,
            # so end the response cleanly instead of cutting the connection.
            if not (started and run_failure_in(exc)):
                raise
            if not finished:
                await send({"type": "http.response.body", "body": b"", "more_body": False})
