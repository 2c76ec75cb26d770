"""An OpenAI-compatible endpoint on `spri serve`: ``POST /v1/chat/completions`` and ``GET /v1/models``, so
any OpenAI client, chat UI or framework can use SPRI as a model (see :mod:`spri.server.openai_shapes`
for the model names and the ``spri`` extension field).

The runs go through the same :class:`~spri.server.service.SpriService` as the LangServe routes: the same
whitelist, per-key threads (``X-Thread-Id`` names one), log lines and metrics. With ``stream: true`` the
answer is Server-Sent Events: stage progress as SSE comments (``: spri {...}``, which clients skip), then
the final response's tokens as ``chat.completion.chunk`` events, the last one carrying the ``spri``
field, and ``data: [DONE]``. Every error on these routes has OpenAI's shape (:class:`OpenAIErrors`).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

from pydantic import ValidationError
from starlette.requests import Request

from spri.api import Result, Token, Update
from spri.server.errors import classify
from spri.server.middleware import HTTPMiddleware
from spri.server.openai_shapes import (
    ChatRequest,
    RequestRefused,
    chunk,
    completion,
    error_body,
    extension,
    model_card,
    models,
    refused_input,
    run_request,
    usage,
)
from spri.server.service import SpriService
from spri.server.threads import check_thread_id

PREFIX = "/v1/"

CODES = {"unauthorized": "invalid_api_key", "not_found": "not_found", "bad_request": "invalid_request"}
"""The server's error kinds that OpenAI names otherwise (others keep their name as the ``code``)."""


def add_openai_routes(app: Any, service: SpriService) -> None:
    """Mount ``/v1/models`` and ``/v1/chat/completions`` on the FastAPI ``app``."""
    from fastapi.responses import JSONResponse, StreamingResponse

    @app.get("/v1/models")
    async def list_models() -> Any:
        return {"object": "list", "data": [model_card(name) for name in models()]}

    @app.get("/v1/models/{name:path}")
    async def one_model(name: str) -> Any:
        if name not in models():
            return refused(RequestRefused(f"The model '{name}' does not exist", "model", 404, "model_not_found"))
        return model_card(name)

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request) -> Any:
        try:
            body = ChatRequest.model_validate(await request.json())
            run, configurable = run_request(body)
        except ValidationError as exc:
            return refused(refused_input(exc))
        except RequestRefused as exc:
            return refused(exc)
        thread = request.headers.get("x-thread-id")
        if thread:
            check_thread_id(thread)
            configurable["thread_id"] = thread
        completion_id = f"chatcmpl-{uuid.uuid4().hex}"
        events = service.run_events(
            run, configurable, run_id=str(uuid.uuid4()), progress=body.stream, tokens=body.stream
        ).__aiter__()
        if not body.stream:
            result = None
            async for item in events:
                result = item if isinstance(item, Result) else result
            assert result is not None
            return JSONResponse(completion(completion_id, body.model, result))
        first = await events.__anext__()  # a request refused before the run starts gets its HTTP status
        stream = sse(first, events, completion_id, body.model, body.include_usage)
        return StreamingResponse(stream, media_type="text/event-stream", headers={"Cache-Control": "no-cache"})

    def refused(exc: RequestRefused) -> Any:
        return JSONResponse(error_body(exc.status, str(exc), exc.code, exc.param), status_code=exc.status)


def data(payload: dict[str, Any]) -> str:
    return f"data: {json.dumps(payload)}\n\n"


def progress_comment(update: Update) -> str:
    """A stage's progress as an SSE comment line, which OpenAI clients skip."""
    shown = {k: v for k, v in update.model_dump(exclude={"text"}).items() if v is not None}
    return f": spri {json.dumps(shown)}\n\n"


async def sse(
    first: Any, rest: AsyncIterator[Any], completion_id: str, model: str, include_usage: bool
) -> AsyncIterator[str]:
    """The run as chat-completion chunks: progress comments while it lasts, then the final response."""
    yield data(chunk(completion_id, model, {"role": "assistant", "content": ""}))
    writing: list[str] = []  # tokens of the response draft being written
    written: list[str] = []  # tokens of the last response draft finished
    result: Result | None = None

    async def items() -> AsyncIterator[Any]:
        yield first
        async for item in rest:
            yield item

    try:
        async for item in items():
            if isinstance(item, Token) and item.stage == "response":
                writing.append(item.text)
            elif isinstance(item, Update):
                if item.stage == "response" and item.score is None and item.text is not None:
                    written, writing = writing, []
                yield progress_comment(item)
            elif isinstance(item, Result):
                result = item
    except Exception as exc:  # headers are sent: the failure goes in an error event, as OpenAI streams do
        failure = classify(exc, None)
        yield data(error_body(failure.status, failure.detail, CODES.get(failure.kind, failure.kind)))
        return
    assert result is not None
    response = result.response or ""
    for piece in written if "".join(written) == response and written else [response]:
        yield data(chunk(completion_id, model, {"content": piece}))
    yield data(chunk(completion_id, model, {}, "stop", spri=extension(result)))
    if include_usage:
        yield data(chunk(completion_id, model, None, usage=usage(result)))
    yield "data: [DONE]\n\n"


def openai_shaped(status: int, body: bytes) -> bytes:
    """The server's JSON error body (``{"detail", "error", "thread_id"}``) in OpenAI's shape."""
    try:
        sent = json.loads(body)
    except ValueError:
        sent = {"detail": body.decode(errors="replace")[:500] or "error", "error": "http_error"}
    if not isinstance(sent, dict) or isinstance(sent.get("error"), dict):
        return body
    kind = str(sent.get("error") or "http_error")
    detail = sent.get("detail")
    message = detail if isinstance(detail, str) else json.dumps(detail)
    return json.dumps(error_body(status, message, CODES.get(kind, kind))).encode()


class OpenAIErrors(HTTPMiddleware):
    """Errors answered on ``/v1/`` (by the auth, the body limit or the app) in OpenAI's shape."""

    async def http(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if not scope.get("path", "").startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        start: dict[str, Any] | None = None
        chunks: list[bytes] = []

        async def shaping_send(message: dict[str, Any]) -> None:
            nonlocal start
            if message["type"] == "http.response.start" and message["status"] >= 400:
                start = message
                return
            if start is None or message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = openai_shaped(start["status"], b"".join(chunks))
            kept = [
                (k, v) for k, v in start.get("headers", []) if k.lower() not in (b"content-length", b"content-type")
            ]
            headers = [*kept, (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, shaping_send)
