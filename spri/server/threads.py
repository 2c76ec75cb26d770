"""Threads as clients see them: each named API key has its own namespace, and a request on a thread
that stopped part-way (a failed model call, a shutdown) continues it instead of starting over."""

from __future__ import annotations

from typing import Any

from spri.api import Thread, load_thread
from spri.server.errors import client_error

SEPARATOR = ":"
MAX_THREAD_ID = 200


def thread_id_problem(thread_id: Any) -> str | None:
    """Why a client's thread id is refused, or None. Ids are names a client reads back through
    ``GET /spri/threads/{id}`` and that appear in log lines: printable text without '/', at most
    200 characters."""
    if not isinstance(thread_id, str) or not thread_id:
        return "thread_id must be a non-empty string"
    if len(thread_id) > MAX_THREAD_ID:
        return f"thread_id must be at most {MAX_THREAD_ID} characters"
    if "/" in thread_id or not thread_id.isprintable():
        return "thread_id may not contain '/', control characters or other unprintable characters"
    return None


def check_thread_id(thread_id: Any) -> None:
    problem = thread_id_problem(thread_id)
    if problem:
        raise client_error(problem)


def stored_thread(thread_id: str, key_name: str | None) -> str:
    """The thread id in the checkpoint database: prefixed with the key's name when keys are named, so a
    key can neither read nor resume another key's threads, whatever id it sends."""
    return f"{key_name}{SEPARATOR}{thread_id}" if key_name else thread_id


def _same_input(thread: Thread, query: str, fields: dict[str, Any]) -> bool:
    if thread.input.query != query:
        return False
    return all(getattr(thread.input, name, None) == value for name, value in fields.items())


async def continuation(
    saver: Any, stored: str, given: str, query: str | None, resume: Any, fields: dict[str, Any]
) -> str | None:
    """What to run on a thread the client named: None to continue it from its checkpoint (no query, a
    resume, or the same input again on a run that stopped part-way), else the query for a new run."""
    if query is not None and resume is not None:
        raise client_error("send either a query (a new run) or resume (answer a paused review), not both", given)
    thread = await load_thread(stored, saver)
    if query is None:
        if thread is None:
            raise client_error(f"no thread {given!r}", given, status=404, kind="thread_not_found")
        return None
    if thread is not None and thread.result.status == "incomplete" and _same_input(thread, query, fields):
        return None  # a retry: finished steps are not run again
    return query
