"""The FastAPI app of `spri serve`: LangServe routes at /spri, the OpenAI-compatible routes at /v1, a
thread's state, probes and metrics, wrapped in the request log, auth, body limit and stream-error middleware."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from spri.api import Context, SpriError, explain, make_context, model_name, open_checkpointer
from spri.server import logs, metrics
from spri.server.client_options import per_request_config
from spri.server.errors import RunFailed, classify, client_error, run_failure_in
from spri.server.health import Readiness, ready_body
from spri.server.middleware import BearerAuth, BodyLimit, RequestLog, StreamErrors
from spri.server.openai_compat import OpenAIErrors, add_openai_routes
from spri.server.retention import sweeping
from spri.server.service import SpriService
from spri.server.settings import ServerSettings
from spri.server.threads import check_thread_id, stored_thread

LANGSERVE_ENDPOINTS: Any = [
    "invoke",
    "batch",
    "stream",
    "stream_log",  # the playground's
    "stream_events",
    "input_schema",
    "output_schema",
    "config_schema",
    "playground",
]


def create_app(settings: ServerSettings | None = None) -> Any:
    """The ASGI app; ``settings`` default to the environment's (see :class:`ServerSettings`)."""
    from fastapi import FastAPI
    from langserve import add_routes

    settings = settings or ServerSettings.from_env()
    service = SpriService(None)
    readiness = Readiness(settings.ready_cache, settings.ready_timeout)

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        make_context()  # the server's own models must be usable: fail at start-up, naming the problem
        async with open_checkpointer(settings.db) as saver, sweeping(saver, settings.thread_ttl):
            service.checkpointer = saver
            try:
                yield
            finally:
                metrics.worker_exited()

    app = FastAPI(
        title="SPRI", description="Situated principles, then a response that follows them.", lifespan=lifespan
    )
    add_routes(
        app,
        service,
        path="/spri",
        config_keys=["configurable"],
        per_req_config_modifier=per_request_config,
        enabled_endpoints=LANGSERVE_ENDPOINTS,
    )
    _add_routes(app, service, readiness, settings)
    add_openai_routes(app, service)
    _add_error_handlers(app)
    wrapped: Any = StreamErrors(app)
    wrapped = BodyLimit(wrapped, settings.max_body)
    if settings.auth:
        wrapped = BearerAuth(wrapped, settings.bearer_keys)
    return RequestLog(OpenAIErrors(wrapped))


def app_from_env() -> Any:
    """The factory uvicorn calls in each worker (``spri.server.app:app_from_env``)."""
    return create_app()


def _add_routes(app: Any, service: SpriService, readiness: Readiness, settings: ServerSettings) -> None:
    from fastapi.responses import JSONResponse, Response

    @app.get("/health")
    async def health() -> dict[str, Any]:
        if settings.auth:  # answered without a key: say nothing about the deployment
            return {"status": "ok"}
        ctx = Context()
        return {"status": "ok", "model": model_name(ctx.model), "critic": model_name(ctx.critic)}

    @app.get("/ready")
    async def ready() -> Any:
        ok, checks = await readiness.check(service.checkpointer)
        return JSONResponse(ready_body(ok, checks), status_code=200 if ok else 503)

    @app.get("/metrics")
    async def prometheus_metrics() -> Any:
        data, content_type = metrics.render()
        return Response(data, media_type=content_type)

    @app.get("/spri/threads/{thread_id}")
    async def thread_state(thread_id: str) -> Any:
        from spri.api import load_thread

        try:
            thread = await load_thread(_own_thread(thread_id), service.checkpointer)
        except Exception as exc:  # the database is down (503), never a bare 500
            raise RunFailed(classify(exc, thread_id)) from exc
        if thread is None:
            raise client_error(f"no thread {thread_id!r}", thread_id, status=404, kind="thread_not_found")
        thread.result.thread_id = thread_id
        return JSONResponse(thread.model_dump(mode="json"))

    @app.delete("/spri/threads/{thread_id}")
    async def delete_thread(thread_id: str) -> Any:
        """Delete one of the caller's threads: 404 if the caller's key has none of that id, 409 while a
        run is using it."""
        from spri.api import delete_thread

        try:
            deleted = await delete_thread(_own_thread(thread_id), service.checkpointer)
        except Exception as exc:  # a running thread (409), the database down (503)
            raise RunFailed(classify(exc, thread_id)) from exc
        if not deleted:
            raise client_error(f"no thread {thread_id!r}", thread_id, status=404, kind="thread_not_found")
        return JSONResponse({"thread_id": thread_id, "deleted": True})


def _own_thread(thread_id: str) -> str:
    """The stored id of the calling key's thread ``thread_id`` (checked: 400 for an id no thread has)."""
    record = logs.current()
    check_thread_id(thread_id)
    return stored_thread(thread_id, record.key_name if record else None)


def _add_error_handlers(app: Any) -> None:
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse
    from pydantic import ValidationError
    from starlette.exceptions import HTTPException

    @app.exception_handler(RunFailed)
    async def run_failed(request: Any, exc: RunFailed) -> Any:
        failure = exc.failure
        return JSONResponse(failure.body(), status_code=failure.status, headers=failure.headers())

    @app.exception_handler(SpriError)
    async def user_error(request: Any, exc: SpriError) -> Any:
        return JSONResponse({"detail": explain(exc)[0], "error": "bad_request", "thread_id": None}, status_code=400)

    @app.exception_handler(RequestValidationError)
    @app.exception_handler(ValidationError)  # LangServe's batch validates its inputs itself
    async def invalid_request(request: Any, exc: RequestValidationError | ValidationError) -> Any:
        body = {"detail": validation_detail(exc.errors()), "error": "bad_request", "thread_id": None}
        return JSONResponse(body, status_code=400)

    @app.exception_handler(HTTPException)
    async def http_error(request: Any, exc: HTTPException) -> Any:
        status = 400 if exc.status_code == 422 else exc.status_code  # one status for every refused input
        kind = {400: "bad_request", 404: "not_found", 405: "method_not_allowed"}.get(status, "http_error")
        body = {"detail": exc.detail, "error": kind, "thread_id": None}
        return JSONResponse(body, status_code=status, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def unexpected(request: Any, exc: Exception) -> Any:
        if run_failure_in(exc) is None:  # a failed run is logged where it failed
            logging.getLogger("spri.server").exception("unexpected error answering %s", request.url.path)
        return JSONResponse({"detail": explain(exc)[0], "error": "internal", "thread_id": None}, status_code=500)


def validation_detail(errors: Any) -> str:
    """pydantic's (or LangServe's) validation errors as one line naming each field, without the values sent."""
    parts = []
    for error in errors if isinstance(errors, list | tuple) else [errors]:
        if isinstance(error, dict):
            where = ".".join(str(part) for part in error.get("loc", ()) if part != "body")
            message = str(error.get("msg", "invalid")).removeprefix("Value error, ")  # a validator's own words
            parts.append(f"{where}: {message}" if where else message)
        else:
            parts.append(str(error))
    return "invalid request: " + ("; ".join(parts) or "the body does not match the input schema")
