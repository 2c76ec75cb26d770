"""Failed runs as HTTP answers: an unreachable or failing model endpoint is 502, a timeout 504, a rate
limit that outlasted the retries 429 with ``Retry-After``, a checkpoint database that is down 503 with
``Retry-After``, a thread another run is using 409, bad input 400; never a bare 500.

Every answer has the JSON body ``{"detail": ..., "error": <kind>, "thread_id": ...}``; the detail names
the endpoint or setting at fault (from :func:`spri.api.explain`) and never carries a key or password.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import Any

from langchain_core import exceptions as lc

from spri.api import DatabaseUnavailable, SpriError, ThreadBusy, explain, redact

DEFAULT_RETRY_AFTER = 5
"""Seconds a client is told to wait after a rate limit when the endpoint did not say, and while the
checkpoint database is down."""

NODE_NOTE = re.compile(r"During task with name '([^']+)'")


@dataclass(frozen=True)
class Failure:
    status: int
    kind: str
    detail: str
    thread_id: str | None = None
    node: str | None = None
    retry_after: int | None = None

    def body(self) -> dict[str, Any]:
        return {"detail": self.detail, "error": self.kind, "thread_id": self.thread_id}

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)} if self.retry_after is not None else {}


class RunFailed(SpriError):
    """A run (or a request for one) that failed; carries its HTTP answer."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.detail)
        self.failure = failure


def client_error(
    detail: str, thread_id: str | None = None, *, status: int = 400, kind: str = "bad_request"
) -> RunFailed:
    return RunFailed(Failure(status, kind, redact(detail), thread_id))


def run_failure_in(exc: BaseException) -> RunFailed | None:
    """The RunFailed an exception is or wraps (as cause, context, or in an exception group)."""
    seen: set[int] = set()
    pending = [exc]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, RunFailed):
            return current
        pending += [e for e in (current.__cause__, current.__context__) if e is not None]
        if isinstance(current, BaseExceptionGroup):
            pending += list(current.exceptions)
    return None


def node_of(exc: BaseException) -> str | None:
    """The graph node an exception came from (LangGraph notes it on the exception)."""
    for note in getattr(exc, "__notes__", ()):
        found = NODE_NOTE.search(str(note))
        if found:
            return found.group(1)
    return None


def _named(exc: BaseException, *words: str) -> bool:
    name, module = type(exc).__name__, type(exc).__module__
    return module.startswith(("httpx", "httpcore", "openai")) and any(word in name for word in words)


def _is_database_error(exc: BaseException) -> bool:
    return isinstance(exc, DatabaseUnavailable) or type(exc).__module__.startswith(("psycopg", "sqlite3"))


def _status_and_kind(exc: BaseException, node: str | None) -> tuple[int, str]:
    if isinstance(exc, ThreadBusy):
        return 409, "thread_busy"
    if _is_database_error(exc):
        return 503, "database_unavailable"
    if isinstance(exc, SpriError):
        # raised inside a node: the model gave no usable answer; before the run: the request was bad
        return (502, "upstream_error") if node else (400, "bad_request")
    if isinstance(exc, lc.ModelTimeoutError | TimeoutError) or _named(exc, "Timeout"):
        return 504, "upstream_timeout"
    if isinstance(exc, lc.ModelRateLimitError):
        return 429, "rate_limited"
    if isinstance(exc, lc.ModelConnectionError | ConnectionError) or _named(exc, "Connect", "Protocol"):
        return 502, "upstream_unreachable"
    if isinstance(exc, lc.ModelAuthenticationError | lc.ModelPermissionDeniedError):
        return 502, "upstream_auth"
    if isinstance(exc, lc.ContextOverflowError):
        return 422, "input_too_long"
    if isinstance(exc, lc.ModelError | json.JSONDecodeError):
        return 502, "upstream_error"
    return 500, "internal"


def classify(exc: BaseException, thread_id: str | None) -> Failure:
    """The HTTP answer for an exception a run raised."""
    if isinstance(exc, RunFailed):
        return exc.failure
    node = node_of(exc)
    status, kind = _status_and_kind(exc, node)
    detail = explain(exc)[0]  # redacted by explain
    if isinstance(exc, ThreadBusy) and thread_id is not None:
        detail = str(ThreadBusy(thread_id))  # the id as the client sent it (not the key's namespace)
    retry_after = retry_after_of(exc) if status == 429 else DEFAULT_RETRY_AFTER if status == 503 else None
    return Failure(status, kind, detail, thread_id, node, retry_after)


def retry_after_of(exc: BaseException) -> int:
    """Seconds from the endpoint's own Retry-After (seconds or an HTTP date), else a default."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None) or {}
    raw = headers.get("retry-after") if hasattr(headers, "get") else None
    if raw:
        try:
            return max(1, math.ceil(float(raw)))
        except ValueError:
            pass
        try:
            from datetime import datetime

            wait = (parsedate_to_datetime(raw) - datetime.now(UTC)).total_seconds()
            return max(1, math.ceil(wait))
        except (TypeError, ValueError):
            pass
    return DEFAULT_RETRY_AFTER


GENERIC_STREAM_ERROR = json.dumps({"status_code": 500, "message": "Internal Server Error"}).encode()
"""What LangServe puts in a stream's error event whatever went wrong (replaced by the run's failure)."""


def stream_error_data(failure: Failure) -> bytes:
    """A stream's error event: LangServe's fields (``status_code``, ``message``) plus the same body as
    the non-streaming routes answer with."""
    return json.dumps({"status_code": failure.status, "message": failure.detail, **failure.body()}).encode()
