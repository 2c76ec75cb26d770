"""Which faults are worth another attempt, and the one retry policy of the model-calling nodes."""

from __future__ import annotations

import json

from langchain_core import exceptions as lc_errors
from langgraph.types import RetryPolicy

from spri.state import SpriError


def is_transient(exc: BaseException) -> bool:
    """Faults worth another attempt at the node level, after the client's own retries: dropped or
    timed-out connections, rate limits, 5xx, and malformed response bodies. Never user errors."""
    if isinstance(exc, SpriError):
        return False
    if isinstance(exc, lc_errors.ModelConnectionError | lc_errors.ModelTimeoutError | lc_errors.ModelRateLimitError):
        return True
    if isinstance(exc, lc_errors.ModelAPIError):
        status = getattr(exc, "status_code", None)
        return status is None or status >= 500
    if isinstance(exc, json.JSONDecodeError | ConnectionError | TimeoutError):
        return True
    name, module = type(exc).__name__, type(exc).__module__
    return module.startswith(("httpx", "httpcore", "openai")) and (
        "Timeout" in name or "Connect" in name or "Protocol" in name or "ResponseValidation" in name
    )


MODEL_CALL_RETRY = RetryPolicy(
    max_attempts=3, initial_interval=0.5, backoff_factor=2.0, max_interval=8.0, jitter=True, retry_on=is_transient
)
"""The one retry policy of the model-calling nodes, on top of the HTTP client's retries (SPRI_MAX_RETRIES,
which honour Retry-After on 429). A run's worst case is bounded: 3 node attempts x (1 + client retries)
requests of at most SPRI_TIMEOUT seconds each, per model call."""
