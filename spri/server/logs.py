"""What the server logs: one line per request (run id, thread id, status, duration, calls) and one per
failed run (run id, thread id, node, cause), as text or as JSON (``--log-format json``).

Every line is redacted (no key, password or URL credential; :func:`spri.api.redact`), and in text logs
control and other unprintable characters a client sent (a thread id, a path) are escaped (``\n``,
``\x1b``, ``\u2028``), so a client cannot forge a log line.

A :class:`RequestRecord` lives in a context variable for the duration of a request; the runs of that
request fill it in (thread ids, calls), the access middleware writes it out at the end.
"""

from __future__ import annotations

import json
import logging
import time
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from spri.api import redact

LOGGER = logging.getLogger("spri.server")


@dataclass
class RequestRecord:
    method: str
    path: str
    route: str
    started: float = field(default_factory=time.perf_counter)
    key_name: str | None = None
    """The named API key that authenticated the request (per-key thread namespaces)."""
    run_ids: list[str] = field(default_factory=list)
    thread_ids: list[str] = field(default_factory=list)
    calls: int = 0
    status: int | None = None
    failure: Any = None
    """The last failed run's :class:`spri.server.errors.Failure` (what a stream's error event carries)."""

    def fields(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "path": self.path,
            "status": self.status,
            "duration_s": round(time.perf_counter() - self.started, 4),
            "run_id": ",".join(self.run_ids) or None,
            "thread_id": ",".join(self.thread_ids) or None,
            "calls": self.calls,
            "error": getattr(self.failure, "kind", None),
        }


CURRENT: ContextVar[RequestRecord | None] = ContextVar("spri_request", default=None)


def current() -> RequestRecord | None:
    return CURRENT.get()


def log_request(record: RequestRecord) -> None:
    values = record.fields()
    text = (
        f"{values['method']} {values['path']} {values['status']} {values['duration_s']:.3f}s "
        f"run_id={values['run_id']} thread_id={values['thread_id']} calls={values['calls']}"
    )
    if values["error"]:
        text += f" error={values['error']}"
    LOGGER.info(text, extra={"spri": {"event": "request", **values}})


def log_failure(
    run_id: str | None, thread_id: str | None, node: str | None, kind: str, cause: str, status: int
) -> None:
    """One line per failed run: an error for server-side causes (5xx), a warning for the client's (4xx)."""
    values = {"run_id": run_id, "thread_id": thread_id, "node": node, "error": kind, "status": status, "cause": cause}
    text = f"run failed: run_id={run_id} thread_id={thread_id} node={node} error={kind} status={status} cause={cause}"
    level = logging.ERROR if status >= 500 else logging.WARNING
    LOGGER.log(level, text, extra={"spri": {"event": "run_failed", **values}})


def escaped(text: str) -> str:
    """``text`` with every unprintable character (newlines, escapes, line separators, bidi controls)
    written as a Python escape, so a value always stays inside its one log line."""
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else char.encode("unicode_escape").decode("ascii") for char in text)


class TextFormatter(logging.Formatter):
    """``time level logger[pid]: message``, the message escaped and redacted (a traceback, when
    there is one, follows on its own lines, redacted)."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s[%(process)d]: %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = escaped(redact(record.message))
        return super().formatMessage(record)

    def formatException(self, ei: Any) -> str:
        return redact(super().formatException(ei))


class JsonFormatter(logging.Formatter):
    """Each record as one JSON object: time, level, logger, message, and the record's ``spri`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}",
            "level": record.levelname.lower(),
            "logger": record.name,
            "pid": record.process,
        }
        fields = getattr(record, "spri", None)
        if isinstance(fields, dict):
            payload.update(fields)
        else:
            payload["message"] = record.getMessage()
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return redact(json.dumps(payload, default=str))


def log_config(log_format: str, level: str = "INFO") -> dict[str, Any]:
    """A logging config for uvicorn and the server: one formatter for every line, to stderr."""
    formatter: dict[str, Any] = {
        "()": "spri.server.logs.JsonFormatter" if log_format == "json" else "spri.server.logs.TextFormatter"
    }
    handler = {"class": "logging.StreamHandler", "formatter": "main", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"main": formatter},
        "handlers": {"main": handler},
        "loggers": {
            "uvicorn": {"handlers": ["main"], "level": level, "propagate": False},
            "uvicorn.error": {"level": level},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
            "spri.server": {"handlers": ["main"], "level": level, "propagate": False},
            "spri.models": {"handlers": ["main"], "level": level, "propagate": False},
            "psycopg.pool": {"handlers": ["main"], "level": "WARNING", "propagate": False},
        },
    }
