"""Turning any exception into one line a user can act on (the CLI and server print these)."""

from __future__ import annotations

import json

from langchain_core import exceptions as lc

from spri.models.redaction import redact
from spri.models.settings import default_openai_url
from spri.state.errors import SpriError

_API_PATHS = ("/chat/completions", "/completions", "/embeddings", "/models")


def _endpoint(exc: BaseException) -> str:
    """The endpoint the failed request went to (from the request itself, so a --base-url or a model
    object's own URL is named, not the environment's), else the configured OpenAI URL."""
    url = getattr(getattr(exc, "request", None), "url", None)
    if url is not None:
        text = str(url).split("?", 1)[0]
        for path in _API_PATHS:
            text = text.removesuffix(path)
        return f"the model endpoint {text}"
    if type(exc).__module__.startswith(("openai", "langchain_openai")):
        return "the model endpoint " + default_openai_url()
    return "the model provider"


EXPLAINED: tuple[tuple[type[BaseException] | tuple[type[BaseException], ...], str, bool], ...] = (
    (lc.ModelTimeoutError, "timed out waiting for {where} (raise SPRI_TIMEOUT, or check the server)", True),
    (
        lc.ModelConnectionError,
        "cannot reach {where} (is the server running? check OPENAI_BASE_URL, or spri batch's --base-url)",
        True,
    ),
    (
        (lc.ModelAuthenticationError, lc.ModelPermissionDeniedError),
        "{where} rejected the API key (check OPENAI_API_KEY or the provider's key)",
        True,
    ),
    (lc.ModelNotFoundError, "{where} does not know this model: {brief}", True),
    (lc.ModelRateLimitError, "{where} kept rate-limiting after retries: {brief}", True),
    (lc.ContextOverflowError, "the input is too long for the model's context: {brief}", True),
    (lc.ModelInvalidRequestError, "{where} refused the request: {brief}", True),
    (lc.ModelAPIError, "{where} failed: {brief}", False),
    (json.JSONDecodeError, "{where} returned a malformed (non-JSON) response, even after retries", False),
    ((ConnectionError, TimeoutError), "network error talking to a model or database: {error}", True),
)
"""Errors by kind, most specific first: the line that explains one (``where`` the endpoint, ``brief`` the
error's own message, ``error`` the error) and whether the user can fix it."""


def explain(exc: BaseException) -> tuple[str, bool]:
    """(message, user_fixable): the message names the input, file, setting or endpoint at fault, and
    holds no credential (URL passwords, secret query parameters and keys are masked)."""
    message, user_fixable = _explain(exc)
    return redact(message), user_fixable


def _explain(exc: BaseException) -> tuple[str, bool]:
    if isinstance(exc, SpriError):
        return str(exc), True
    for kinds, line, fixable in EXPLAINED:
        if isinstance(exc, kinds):
            return line.format(where=_endpoint(exc), brief=_brief(exc), error=exc), fixable
    return f"unexpected {type(exc).__name__}: {_brief(exc)} (set SPRI_DEBUG=1 for a traceback)", False


def _brief(exc: BaseException) -> str:
    return (getattr(exc, "message", None) or str(exc))[:300]
