"""The HTTP retries of ``openai:NAME`` models, done here (not in the openai SDK) so that each one is
announced: ``endpoint http://host/v1 unreachable, retry 2/11 in 1.0 s`` (the endpoint without
credentials), on the ``spri.models.retry`` logger at INFO. `spri ask`/`resume` print these on stderr,
`spri serve` logs them.

What is retried, as the SDK did: dropped, refused or timed-out connections, and answers 408, 409, 429
and 5xx (or whatever ``x-should-retry`` says), each waiting the endpoint's ``Retry-After`` (up to two
minutes; longer is not retried) or a jittered backoff of 0.5 s doubling to 8 s, ``SPRI_MAX_RETRIES``
times. The node-level retry policy (:data:`spri.models.retry.MODEL_CALL_RETRY`) runs a failed step
again on top; retries are numbered across both, so a user sees one count.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import math
import random
import time
from typing import Any

import openai

try:  # the openai SDK's HTTP stack (httpx2 from openai 3, httpx before)
    import httpx2 as httpx
except ImportError:  # pragma: no cover - older openai
    import httpx  # type: ignore[no-redef]

from spri.models.redaction import redact_url
from spri.models.retry import MODEL_CALL_RETRY

LOGGER = logging.getLogger("spri.models.retry")
INITIAL_DELAY = 0.5
MAX_DELAY = 8.0
MAX_RETRY_AFTER = 120.0
RETRIED_STATUSES = (408, 409, 429)
API_PATHS = ("/chat/completions", "/completions", "/embeddings", "/models", "/responses")


def endpoint_of(url: Any) -> str:
    """The endpoint a request went to, as it may be shown: its base URL without credentials."""
    text = str(url).split("?", 1)[0]
    for path in API_PATHS:
        text = text.removesuffix(path)
    return redact_url(text)


def backoff(retry: int) -> float:
    """Seconds before retry number ``retry`` (1-based): 0.5 s doubling to 8 s, less up to a quarter."""
    return min(INITIAL_DELAY * 2 ** (retry - 1), MAX_DELAY) * (1 - 0.25 * random.random())


def retry_after(response: Any) -> float | None:
    """The endpoint's own wait (``retry-after-ms``, ``retry-after`` in seconds or as a date), if any."""
    headers = response.headers
    for header, divisor in (("retry-after-ms", 1000), ("retry-after", 1)):
        value = headers.get(header)
        if value is None:
            continue
        try:
            seconds = float(value) / divisor
        except ValueError:
            parsed = email.utils.parsedate_to_datetime(value) if header == "retry-after" else None
            seconds = parsed.timestamp() - time.time() if parsed else math.nan
        if math.isfinite(seconds):
            return max(0.0, seconds)
    return None


def should_retry(response: Any) -> bool:
    wait = retry_after(response)
    if wait is not None and wait > MAX_RETRY_AFTER:
        return False
    verdict = response.headers.get("x-should-retry")
    if verdict in ("true", "false"):
        return verdict == "true"
    return response.status_code in RETRIED_STATUSES or response.status_code >= 500


def fault(exc: BaseException) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    if isinstance(exc, httpx.ConnectError):
        return "unreachable"
    return f"dropped the connection ({type(exc).__name__})"


def step_attempt() -> tuple[int, int]:
    """(this step's attempt, the attempts the node-level policy allows): (1, 1) outside a graph run."""
    try:
        from langgraph.runtime import get_runtime

        info = get_runtime().execution_info
    except Exception:  # not inside a graph node (a model used on its own)
        return 1, 1
    attempt = info.node_attempt if info is not None else 1
    return max(1, attempt), MODEL_CALL_RETRY.max_attempts


def announce(url: Any, what: str, retry: int, retries: int, wait: str) -> None:
    """Log one retry, numbered across the node-level attempts of the step."""
    attempt, attempts = step_attempt()
    number = (attempt - 1) * (retries + 1) + retry
    total = attempts * (retries + 1) - 1
    LOGGER.info("endpoint %s %s, retry %d/%d %s", endpoint_of(url), what, number, total, wait)


def announce_step_retry(url: Any, what: str, retries: int) -> None:
    """The client gave up; if the node-level policy will run the step again, say so (with its wait)."""
    policy = MODEL_CALL_RETRY
    attempt, attempts = step_attempt()
    if attempt < attempts:
        interval = min(policy.max_interval, policy.initial_interval * policy.backoff_factor ** (attempt - 1))
        announce(url, what, retries + 1, retries, f"in about {interval + (0.5 if policy.jitter else 0):.0f} s")


class RetryingHttpClient(openai.DefaultAsyncHttpxClient):
    """The SDK's default async HTTP client (its limits and timeouts), retrying as the module says; the
    SDK client above it is given ``max_retries=0``."""

    def __init__(self, retries: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.retries = retries

    async def send(self, request: Any, **kwargs: Any) -> Any:
        retry = 0
        while True:
            try:
                response = await super().send(request, **kwargs)
            except httpx.TransportError as exc:
                if retry >= self.retries:
                    announce_step_retry(request.url, fault(exc), self.retries)
                    raise
                what, delay = fault(exc), backoff(retry + 1)
            else:
                if not should_retry(response):
                    return response
                what = f"answered HTTP {response.status_code}"
                if retry >= self.retries:
                    if response.status_code == 429 or response.status_code >= 500:  # what the step retries
                        announce_step_retry(request.url, what, self.retries)
                    return response
                wait = retry_after(response)
                delay = backoff(retry + 1) if wait is None else wait
                await response.aclose()
            retry += 1
            announce(request.url, what, retry, self.retries, f"in {delay:.1f} s")
            await asyncio.sleep(delay)
