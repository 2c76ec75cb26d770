"""The OpenAI chat-completions protocol as SPRI speaks it: the model names (a built-in profile and a
method), a request turned into a run's input and options, a finished run as a ``chat.completion`` (or
its chunks), and errors in OpenAI's shape ``{"error": {"message", "type", "param", "code"}}``.

A model name is ``spri`` (the 'general' profile) or ``spri-<profile>``, followed by ``:<method>`` for a
method other than SPRI itself: ``spri``, ``spri-reappraisal``, ``spri:fixed-principles``. Principles,
scores, stop reasons and the thread go in the extension field ``spri`` of the answer; a request may carry
the same field with run options (the server's whitelist) and input fields (``goal``, ``principles``...).
"""

from __future__ import annotations

import time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from spri.api import METHODS, Input, Result, builtin_profiles
from spri.server.client_options import CLIENT_OPTIONS

DEFAULT_PROFILE = "general"
NAME = "spri"
OWNER = "spri"

RUN_ONLY_OPTIONS = ("review_principles", "thread_id")
"""Whitelisted options a chat completion cannot take: it cannot pause for a review, and the thread is
named by the ``X-Thread-Id`` header, as on the LangServe routes."""

INPUT_FIELDS = tuple(name for name in Input.model_fields if name not in ("query", "messages"))
"""Input fields a request's ``spri`` extension may carry (the query and conversation are the messages)."""


def model_name(profile: str, method: str) -> str:
    base = NAME if profile == DEFAULT_PROFILE else f"{NAME}-{profile}"
    return base if method == "spri" else f"{base}:{method}"


def models() -> dict[str, tuple[str, str]]:
    """Every model name a client may ask for -> (profile, method): each built-in profile with each method
    that runs under the default protocol, SPRI's own first."""
    methods = ["spri", *(name for name, plan in METHODS.items() if name != "spri" and not plan.paper_only)]
    profiles = [DEFAULT_PROFILE, *(p for p in builtin_profiles() if p != DEFAULT_PROFILE)]
    return {model_name(profile, method): (profile, method) for profile in profiles for method in methods}


def model_card(name: str) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": 0, "owned_by": OWNER}


class ChatRequest(BaseModel):
    """A chat-completions request. Sampling parameters (temperature, top_p, max_tokens...) are accepted
    and not used: the server's own settings drive its models."""

    model_config = ConfigDict(extra="allow")

    model: str
    messages: list[dict[str, Any]] = Field(min_length=1)
    stream: bool = False
    stream_options: dict[str, Any] | None = None
    n: int | None = None
    tools: list[Any] | None = None
    spri: dict[str, Any] | None = Field(
        default=None, description="Run options (the server's whitelist) and input fields (goal, principles...)."
    )

    @property
    def include_usage(self) -> bool:
        return bool((self.stream_options or {}).get("include_usage"))


class RequestRefused(ValueError):
    """A request this endpoint does not take: the OpenAI error it gets."""

    def __init__(self, message: str, param: str | None, status: int = 400, code: str = "invalid_request") -> None:
        super().__init__(message)
        self.param, self.status, self.code = param, status, code


def run_request(request: ChatRequest) -> tuple[dict[str, Any], dict[str, Any]]:
    """The run's input and its options (``configurable``) for a request, or :class:`RequestRefused`."""
    chosen = models().get(request.model)
    if chosen is None:
        raise RequestRefused(
            f"The model '{request.model}' does not exist; GET /v1/models lists the models of this server",
            "model",
            status=404,
            code="model_not_found",
        )
    if request.n not in (None, 1):
        raise RequestRefused("n: only one choice per request is supported", "n")
    if request.tools:
        raise RequestRefused("tools: SPRI answers in text and calls no tools", "tools")
    extension = dict(request.spri or {})
    fields = {k: extension.pop(k) for k in list(extension) if k in INPUT_FIELDS}
    unknown = sorted(k for k in extension if k not in CLIENT_OPTIONS or k in RUN_ONLY_OPTIONS)
    if unknown:
        allowed = [k for k in (*CLIENT_OPTIONS, *INPUT_FIELDS) if k not in RUN_ONLY_OPTIONS]
        raise RequestRefused(f"spri: not allowed: {', '.join(unknown)} (allowed: {', '.join(allowed)})", "spri")
    for key in ("profile", "method"):
        if extension.get(key) not in (None, ""):
            raise RequestRefused(f"spri.{key}: the model name chooses it ({request.model!r})", f"spri.{key}")
    try:
        run = Input.model_validate({"messages": request.messages, **fields})  # the last user turn is the query
    except ValidationError as exc:
        raise refused_input(exc) from None
    profile, method = chosen
    return run.model_dump(exclude_defaults=True), {**extension, "profile": profile, "method": method}


def refused_input(exc: ValidationError) -> RequestRefused:
    """A body or input that does not validate, naming its first wrong field (never its value)."""
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error.get("loc", ()))
    message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
    param = where or ("messages" if "messages" in message else None)
    return RequestRefused(f"{where or param or 'body'}: {message}", param)


def extension(result: Result) -> dict[str, Any]:
    """The ``spri`` field of an answer: what SPRI did beyond the response text."""
    return {
        "thread_id": result.thread_id,
        "profile": result.profile,
        "method": result.method,
        "principles": result.principles,
        "scores": result.final_scores,
        "stop_reason": result.stop_reason,
        "rounds": result.rounds,
        "calls": result.calls,
        "score": result.score,
        "feedback": result.feedback,
    }


def usage(result: Result) -> dict[str, int]:
    """Tokens of every model call of the run, in OpenAI's names."""
    tokens = result.tokens
    prompt, completion = tokens.get("input", 0), tokens.get("output", 0)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": tokens.get("total", 0)}


def completion(completion_id: str, model: str, result: Result) -> dict[str, Any]:
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": result.response or "", "refusal": None},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": usage(result),
        NAME: extension(result),
    }


def chunk(
    completion_id: str,
    model: str,
    delta: dict[str, Any] | None,
    finish: Literal["stop"] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """One ``chat.completion.chunk``; ``delta`` None makes the usage chunk (no choices)."""
    choices = [] if delta is None else [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]
    body = {"id": completion_id, "object": "chat.completion.chunk", "created": int(time.time()), "model": model}
    return {**body, "choices": choices, **extra}


ERROR_TYPES = {401: "authentication_error", 403: "permission_error", 404: "invalid_request_error"}


def error_type(status: int) -> str:
    if status == 429:
        return "rate_limit_error"
    if status >= 500:
        return "server_error"
    return ERROR_TYPES.get(status, "invalid_request_error")


def error_body(status: int, message: str, code: str | None, param: str | None = None) -> dict[str, Any]:
    """OpenAI's error shape."""
    return {"error": {"message": message, "type": error_type(status), "param": param, "code": code}}
