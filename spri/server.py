"""`spri serve`: SPRI as LangServe endpoints (FastAPI) at /spri, plus /health and thread state.

Security model: the server's models, endpoints and keys come only from its own environment
(SPRI_MODEL, SPRI_CRITIC_MODEL, OPENAI_*). A client may set only these run options, in
``config.configurable``: thread_id, min_score, max_rounds, profile (a built-in name), method,
seeds ("default" or "none") and review_principles. Anything else there is refused with HTTP 400, so a
client can never point the server's model at its own URL (and receive the server's API key) or make it
read server files.
With SPRI_API_KEY set, every route but /health needs ``Authorization: Bearer <key>``. Request bodies
over SPRI_MAX_BODY bytes (default 1 MB) get HTTP 413.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from typing import Any

from langchain_core.runnables import ConfigurableFieldSpec, Runnable, RunnableConfig
from pydantic import BaseModel, Field, create_model

from spri.api import (
    METHODS,
    Context,
    Input,
    Result,
    SpriError,
    Update,
    astream,
    builtin_profiles,
    default_db,
    explain,
    load_thread,
    model_name,
    open_checkpointer,
)
from spri.options import client_annotation, run_options

DEFAULT_MAX_BODY = 1_000_000

CLIENT_FIELDS = ("min_score", "max_rounds", "profile", "method", "review_principles")
"""Context fields a client may set as they are (``profile`` restricted to built-in names)."""


def _client_options() -> dict[str, tuple[Any, str]]:
    options: dict[str, tuple[Any, str]] = {
        "thread_id": (str | None, "Thread to run on; runs on one thread share its checkpoint history.")
    }
    for option in run_options(CLIENT_FIELDS):
        options[option.field] = (client_annotation(option), option.help)
    options["profile"] = (str | None, f"Built-in profile: {', '.join(builtin_profiles())}.")
    options["seeds"] = (str | None, "'default' (the profile's seed examples) or 'none' (zero-seed).")
    return options


CLIENT_OPTIONS = _client_options()
"""The only run options a client may send (config.configurable); everything else is refused."""


ServerInput = create_model(
    "SpriInput",
    __base__=Input,
    query=(str | None, Field(default=None, description="The input text (leave empty to resume a thread).")),
    resume=(Any, Field(default=None, description="Answer to a paused review: 'approve' or {action, principles}.")),
)


class ClientConfigError(SpriError):
    pass


def check_client_options(configurable: MutableMapping[str, Any]) -> dict[str, Any]:
    """The context options a client asked for, or ClientConfigError naming what is not allowed."""
    unknown = sorted(set(configurable) - set(CLIENT_OPTIONS))
    if unknown:
        raise ClientConfigError(
            f"config key(s) not allowed: {', '.join(unknown)} (allowed: {', '.join(CLIENT_OPTIONS)})"
        )
    options = {k: v for k, v in configurable.items() if v is not None and k != "thread_id"}
    if "profile" in options and options["profile"] not in builtin_profiles():
        raise ClientConfigError(f"profile must be one of {', '.join(builtin_profiles())}")
    if "method" in options and options["method"] not in METHODS:
        raise ClientConfigError(f"method must be one of {', '.join(METHODS)}")
    if "seeds" in options:
        choice = options.pop("seeds")
        if choice not in ("default", "none"):
            raise ClientConfigError("seeds must be 'default' or 'none'")
        options["seed_policy" if choice == "none" else "seeds"] = "none" if choice == "none" else "default"
    return options


class SpriService(Runnable[Any, dict[str, Any]]):
    """The SPRI graph behind LangServe: whitelisted options become the run's Context, the thread id
    comes from the config (or the X-Thread-Id header), results are plain JSON."""

    name = "spri"

    def __init__(self, checkpointer: Any) -> None:
        self.checkpointer = checkpointer

    @property
    def InputType(self) -> Any:
        return ServerInput

    @property
    def OutputType(self) -> Any:
        return Result

    @property
    def config_specs(self) -> list[ConfigurableFieldSpec]:
        return [
            ConfigurableFieldSpec(id=key, annotation=annotation, default=None, description=description)
            for key, (annotation, description) in CLIENT_OPTIONS.items()
        ]

    async def _run(self, input: Any, config: RunnableConfig | None, progress: bool) -> AsyncIterator[Update | Result]:
        data = input.model_dump() if isinstance(input, BaseModel) else dict(input or {})
        configurable = dict((config or {}).get("configurable") or {})
        options = check_client_options({k: v for k, v in configurable.items() if k in CLIENT_OPTIONS})
        resume = data.pop("resume", None)
        query = data.pop("query", None)
        fields = {k: v for k, v in data.items() if v not in (None, {}, "")}
        thread_id = configurable.get("thread_id")
        if query is None and resume is None:
            raise ClientConfigError("send a query, or resume with the thread_id of a paused run")
        parent = {k: v for k, v in (config or {}).items() if k in ("callbacks", "tags", "metadata")}
        async for item in astream(
            None if resume is not None else query,
            thread_id=thread_id,
            checkpointer=self.checkpointer,
            progress=progress,
            resume=resume,
            parent_config=parent,
            **options,
            **({} if resume is not None else fields),
        ):
            yield item

    async def _invoke(self, input: Any, run_manager: Any, config: RunnableConfig) -> dict[str, Any]:
        result: dict[str, Any] = {}
        async for item in self._run(input, config, progress=False):
            result = item.model_dump(mode="json")
        return result

    async def _stream(
        self, inputs: AsyncIterator[Any], run_manager: Any, config: RunnableConfig
    ) -> AsyncIterator[dict[str, Any]]:
        async for input in inputs:
            async for item in self._run(input, config, progress=True):
                kind = "result" if isinstance(item, Result) else "update"
                yield {"type": kind, **item.model_dump(mode="json")}

    # The *_with_config helpers open this runnable's own run and hand the graph a child config, so
    # the graph's runs (and stream_events) hang under it.
    async def ainvoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> dict[str, Any]:
        return await self._acall_with_config(self._invoke, input, config)

    async def astream(
        self, input: Any, config: RunnableConfig | None = None, **kwargs: Any
    ) -> AsyncIterator[dict[str, Any]]:
        async def one() -> AsyncIterator[Any]:
            yield input

        async for chunk in self._atransform_stream_with_config(one(), self._stream, config):
            yield chunk

    def invoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> dict[str, Any]:
        return asyncio.run(self.ainvoke(input, config, **kwargs))


def _client_configs(body: Any) -> list[dict[str, Any]]:
    """Every config a request body carries (invoke/stream: one; batch: one or a list)."""
    if not isinstance(body, dict):
        return []
    config = body.get("config")
    configs = config if isinstance(config, list) else [config]
    return [c for c in configs if isinstance(c, dict)]


async def per_request_config(config: dict[str, Any], request: Any) -> dict[str, Any]:
    """Refuse non-whitelisted options as the client sent them; take the thread id from a header."""
    from fastapi import HTTPException

    try:
        body = await request.json() if request.method == "POST" else None
    except (ValueError, UnicodeDecodeError):
        body = None
    try:
        for sent in _client_configs(body):
            check_client_options(dict(sent.get("configurable") or {}))
        configurable = dict(config.get("configurable") or {})
        check_client_options(configurable)
    except SpriError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from exc
    header_thread = request.headers.get("x-thread-id")
    if header_thread:
        configurable["thread_id"] = header_thread
    return {**config, "configurable": configurable}


class BodyLimit:
    """ASGI middleware: bodies over ``limit`` bytes get 413 before the app sees them."""

    def __init__(self, app: Any, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: dict[str, Any], receive: Callable[[], Awaitable[Any]], send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await _plain_response(send, 413, f"request body over {self.limit} bytes")
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await _plain_response(send, 413, f"request body over {self.limit} bytes")
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        sent = False

        async def replay() -> Any:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


class BearerAuth:
    """ASGI middleware: with a key configured, every route except /health needs `Bearer <key>`."""

    def __init__(self, app: Any, key: str) -> None:
        self.app, self.key = app, key.encode()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope.get("path") != "/health":
            header = dict(scope.get("headers") or []).get(b"authorization", b"")
            token = header[7:] if header.lower().startswith(b"bearer ") else b""
            if not hmac.compare_digest(token, self.key):
                await _plain_response(send, 401, "missing or wrong bearer token", {b"www-authenticate": b"Bearer"})
                return
        await self.app(scope, receive, send)


async def _plain_response(send: Any, status: int, detail: str, headers: dict[bytes, bytes] | None = None) -> None:
    body = json.dumps({"detail": detail}).encode()
    extra = list((headers or {}).items())
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *extra],
        }
    )
    await send({"type": "http.response.body", "body": body})


def create_app(db: str | None = None, *, api_key: str | None = None, max_body: int | None = None) -> Any:
    """The FastAPI app: LangServe routes at /spri (invoke, batch, stream, stream_events, schemas,
    playground), GET /spri/threads/{id} for a thread's saved state, and GET /health."""
    from fastapi import FastAPI, HTTPException
    from fastapi.responses import JSONResponse
    from langserve import add_routes

    database = db or default_db()
    holder: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        async with open_checkpointer(database) as saver:
            holder["saver"] = saver
            service.checkpointer = saver
            yield

    app = FastAPI(
        title="SPRI", description="Situated principles, then a response that follows them.", lifespan=lifespan
    )
    service = SpriService(None)
    add_routes(
        app,
        service,
        path="/spri",
        config_keys=["configurable"],
        per_req_config_modifier=per_request_config,
        enabled_endpoints=[
            "invoke",
            "batch",
            "stream",
            "stream_events",
            "input_schema",
            "output_schema",
            "config_schema",
            "playground",
        ],
    )

    @app.get("/health")
    async def health() -> dict[str, Any]:
        ctx = Context()
        return {"status": "ok", "model": model_name(ctx.model), "critic": model_name(ctx.critic)}

    @app.get("/spri/threads/{thread_id}")
    async def thread_state(thread_id: str) -> Any:
        thread = await load_thread(thread_id, holder["saver"])
        if thread is None:
            raise HTTPException(status_code=404, detail=f"no thread {thread_id!r}")
        return JSONResponse(thread.model_dump(mode="json"))

    @app.exception_handler(SpriError)
    async def user_error(request: Any, exc: SpriError) -> Any:
        return JSONResponse({"detail": explain(exc)[0]}, status_code=400)

    wrapped: Any = BodyLimit(app, max_body or int(os.environ.get("SPRI_MAX_BODY", DEFAULT_MAX_BODY)))
    key = api_key if api_key is not None else os.environ.get("SPRI_API_KEY")
    if key:
        wrapped = BearerAuth(wrapped, key)
    return wrapped


def serve(host: str = "127.0.0.1", port: int = 8000, db: str | None = None) -> None:
    import uvicorn

    uvicorn.run(create_app(db), host=host, port=port, log_level="info")
