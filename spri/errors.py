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


def explain(exc: BaseException) -> tuple[str, bool]:
    """(message, user_fixable): the message names the input, file, setting or endpoint at fault, and
    holds no credential (URL passwords, secret query parameters and keys are masked)."""
    message, user_fixable = _explain(exc)
    return redact(message), user_fixable


def _explain(exc: BaseException) -> tuple[str, bool]:
    if isinstance(exc, SpriError):
        return str(exc), True
    where = _endpoint(exc)
    if isinstance(exc, lc.ModelTimeoutError):
        return f"timed out waiting for {where} (raise SPRI_TIMEOUT, or check the server)", True
    if isinstance(exc, lc.ModelConnectionError):
        return f"cannot reach {where} (is the server running? check OPENAI_BASE_URL, or spri batch's --base-url)", True
    if isinstance(exc, lc.ModelAuthenticationError | lc.ModelPermissionDeniedError):
        return f"{where} rejected the API key (check OPENAI_API_KEY or the provider's key)", True
    if isinstance(exc, lc.ModelNotFoundError):
        return f"{where} does not know this model: {_brief(exc)}", True
    if isinstance(exc, lc.ModelRateLimitError):
        return f"{where} kept rate-limiting after retries: {_brief(exc)}", True
    if isinstance(exc, lc.ContextOverflowError):
        return f"the input is too long for the model's context: {_brief(exc)}", True
    if isinstance(exc, lc.ModelInvalidRequestError):
        return f"{where} refused the request: {_brief(exc)}", True
    if isinstance(exc, lc.ModelAPIError):
        return f"{where} failed: {_brief(exc)}", False
    if isinstance(exc, json.JSONDecodeError):
        return f"{where} returned a malformed (non-JSON) response, even after retries", False
    if isinstance(exc, ConnectionError | TimeoutError):
        return f"network error talking to a model or database: {exc}", True
    return f"unexpected {type(exc).__name__}: {_brief(exc)} (set SPRI_DEBUG=1 for a traceback)", False


def _brief(exc: BaseException) -> str:
    return (getattr(exc, "message", None) or str(exc))[:300]
