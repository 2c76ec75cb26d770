"""Prometheus metrics of `spri serve` (``GET /metrics``).

With several workers, `spri serve` points ``PROMETHEUS_MULTIPROC_DIR`` at a fresh directory before the
workers start (so before this module is imported in them); each scrape then sums every worker's files.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any
from uuid import UUID

from langchain_core.callbacks import AsyncCallbackHandler
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

REQUESTS = Counter(
    "spri_http_requests", "HTTP requests answered, by route, method and status.", ["route", "method", "status"]
)
RUN_SECONDS = Histogram(
    "spri_run_duration_seconds",
    "Duration of SPRI runs, by outcome (done, interrupted, or the error kind).",
    ["outcome"],
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600),
)
RUNS_IN_FLIGHT = Gauge("spri_runs_in_flight", "SPRI runs executing now.", multiprocess_mode="livesum")
RUN_FAILURES = Counter("spri_run_failures", "Runs that failed, by error kind.", ["error"])
STOP_REASONS = Counter("spri_stop_reasons", "Why each stage of a finished run stopped.", ["stage", "reason"])
MODEL_CALLS = Counter("spri_model_calls", "Model calls that returned an answer, by role and stage.", ["role", "stage"])
MODEL_CALL_ERRORS = Counter("spri_model_call_errors", "Model calls that raised, by role and stage.", ["role", "stage"])
MODEL_TOKENS = Counter(
    "spri_model_tokens", "Tokens of model calls, by role, stage and direction.", ["role", "stage", "direction"]
)


def count_request(route: str, method: str, status: int) -> None:
    REQUESTS.labels(route, method, str(status)).inc()


def count_run(outcome: str, seconds: float, stop_reasons: Mapping[str, str] | None = None) -> None:
    RUN_SECONDS.labels(outcome).observe(seconds)
    for stage, reason in (stop_reasons or {}).items():
        STOP_REASONS.labels(stage, reason).inc()


def count_failure(kind: str) -> None:
    RUN_FAILURES.labels(kind).inc()


def render() -> tuple[bytes, str]:
    """The exposition text: this process's registry, or every worker's in multiprocess mode."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def worker_exited() -> None:
    """Drop this worker's live gauges from the sums (multiprocess mode)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(os.getpid())


def role_of(tags: list[str] | None) -> str:
    """A model call's role from its tag (``spri:base``, ``spri:critic``)."""
    for tag in tags or ():
        if tag.startswith("spri:"):
            return tag.removeprefix("spri:")
    return "other"


def stage_of(metadata: dict[str, Any] | None) -> str:
    """The stage a call belongs to, from the node that made it (``judge_principles`` -> ``principles``)."""
    node = str((metadata or {}).get("langgraph_node") or "")
    _, _, stage = node.partition("_")
    return stage or node or "other"


class ModelCallMetrics(AsyncCallbackHandler):
    """Counts each chat-model call of a run, with its tokens, by role and stage."""

    def __init__(self) -> None:
        self._open: dict[UUID, tuple[str, str]] = {}

    async def on_chat_model_start(
        self,
        serialized: dict[str, Any],
        messages: Any,
        *,
        run_id: UUID,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self._open[run_id] = (role_of(tags), stage_of(metadata))

    async def on_llm_end(self, response: Any, *, run_id: UUID, **kwargs: Any) -> None:
        if run_id not in self._open:
            return
        role, stage = self._open.pop(run_id)
        MODEL_CALLS.labels(role, stage).inc()
        for generations in response.generations[:1]:
            message = getattr(generations[0], "message", None) if generations else None
            usage = getattr(message, "usage_metadata", None) or {}
            MODEL_TOKENS.labels(role, stage, "input").inc(usage.get("input_tokens", 0))
            MODEL_TOKENS.labels(role, stage, "output").inc(usage.get("output_tokens", 0))

    async def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        if run_id in self._open:
            MODEL_CALL_ERRORS.labels(*self._open.pop(run_id)).inc()
