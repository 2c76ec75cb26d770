"""The SPRI graph as a LangChain Runnable for LangServe: whitelisted options become the run's Context,
the thread comes from the config (or the X-Thread-Id header) inside the caller's key namespace, results
are plain JSON, and every failure becomes a :class:`RunFailed` carrying its HTTP answer."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from langchain_core.runnables import ConfigurableFieldSpec, Runnable, RunnableConfig
from pydantic import BaseModel

from spri.api import MODEL_CALLBACKS, RENAMED_FIELDS, Result, Token, Update, astream
from spri.server import logs, metrics
from spri.server.client_options import CLIENT_OPTIONS, ServerInput, ServerResult, check_client_options
from spri.server.errors import RunFailed, classify, client_error
from spri.server.threads import continuation, stored_thread


class SpriService(Runnable[Any, dict[str, Any]]):
    """SPRI behind LangServe (invoke, batch, stream, stream_events)."""

    name = "spri"

    def __init__(self, checkpointer: Any) -> None:
        self.checkpointer = checkpointer

    @property
    def InputType(self) -> Any:
        return ServerInput

    @property
    def OutputType(self) -> Any:
        return ServerResult

    @property
    def config_specs(self) -> list[ConfigurableFieldSpec]:
        return [
            ConfigurableFieldSpec(id=key, annotation=annotation, default=None, description=description)
            for key, (annotation, description) in CLIENT_OPTIONS.items()
        ]

    async def _run(
        self, input: Any, config: RunnableConfig | None, progress: bool, run_id: str, tokens: bool = False
    ) -> AsyncIterator[Update | Token | Result]:
        """One run, accounted: its record (log line), metrics, and the mapping of any failure."""
        configurable = dict((config or {}).get("configurable") or {})
        record = logs.current()
        key_name = record.key_name if record else None
        thread_id = configurable.get("thread_id") or uuid.uuid4().hex[:12]
        if record is not None:
            record.run_ids.append(run_id)
            record.thread_ids.append(thread_id)
        started, outcome, stop_reasons = time.perf_counter(), "error", None
        metrics.RUNS_IN_FLIGHT.inc()
        try:
            stored = stored_thread(thread_id, key_name)
            async for item in self._drive(input, config, configurable, stored, progress, tokens):
                if isinstance(item, Result):
                    item = item.model_copy(update={"thread_id": thread_id})
                    outcome, stop_reasons = item.status, item.stop_reason
                    if record is not None:
                        record.calls += item.calls
                yield item
        except Exception as exc:
            failure = classify(exc, thread_id)
            outcome = failure.kind
            metrics.count_failure(failure.kind)
            logs.log_failure(run_id, thread_id, failure.node, failure.kind, failure.detail, failure.status)
            if record is not None:
                record.failure = failure
            raise RunFailed(failure) from exc
        finally:
            metrics.RUNS_IN_FLIGHT.dec()
            metrics.count_run(outcome, time.perf_counter() - started, stop_reasons)

    async def _drive(
        self,
        input: Any,
        config: RunnableConfig | None,
        configurable: dict[str, Any],
        stored: str,
        progress: bool,
        tokens: bool,
    ) -> AsyncIterator[Update | Token | Result]:
        data = input.model_dump() if isinstance(input, BaseModel) else dict(input or {})
        sent = {k: v for k, v in configurable.items() if RENAMED_FIELDS.get(k, k) in CLIENT_OPTIONS}
        options = check_client_options(sent)
        resume = data.pop("resume", None)
        query = data.pop("query", None)
        fields = {k: v for k, v in data.items() if v not in (None, {}, "")}
        given = configurable.get("thread_id")
        if query is None and resume is None and not given:
            raise client_error("send a query, or the thread_id of a run to continue or resume")
        if given:
            query = await continuation(self.checkpointer, stored, given, query, resume, fields)
        async for item in astream(
            query,
            thread_id=stored,
            checkpointer=self.checkpointer,
            progress=progress,
            tokens=tokens,
            resume=resume,
            parent_config=_parent_config(config),
            **options,
            **(fields if query is not None else {}),
        ):
            yield item

    def run_events(
        self, input: Any, configurable: dict[str, Any], *, run_id: str, progress: bool, tokens: bool
    ) -> AsyncIterator[Update | Token | Result]:
        """One run for a route of its own (the OpenAI-compatible one): what LangServe's routes get, and
        with ``tokens`` the base model's text as it is written. ``configurable`` holds the whitelisted
        run options and the thread id, as a LangServe config would."""
        return self._run(input, {"configurable": configurable}, progress, run_id, tokens)

    async def _invoke(self, input: Any, run_manager: Any, config: RunnableConfig) -> dict[str, Any]:
        result: dict[str, Any] = {}
        async for item in self._run(input, config, False, str(run_manager.run_id)):
            result = item.model_dump(mode="json")
        return result

    async def _stream(
        self, inputs: AsyncIterator[Any], run_manager: Any, config: RunnableConfig
    ) -> AsyncIterator[dict[str, Any]]:
        async for input in inputs:
            async for item in self._run(input, config, True, str(run_manager.run_id)):
                kind = "result" if isinstance(item, Result) else "update"
                yield {"type": kind, **item.model_dump(mode="json")}

    # The *_with_config helpers open this runnable's own run and hand the graph a child config, so
    # the graph's runs (and stream_events) hang under it.
    async def ainvoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> dict[str, Any]:
        return await self._acall_with_config(self._invoke, input, config)

    async def astream(
        self, input: Any, config: RunnableConfig | None = None, **kwargs: Any
    ) -> AsyncIterator[dict[str, Any]]:
        async def one() -> AsyncIterator[Any]:
            yield input

        async for chunk in self._atransform_stream_with_config(one(), self._stream, config):
            yield chunk

    def invoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> dict[str, Any]:
        return asyncio.run(self.ainvoke(input, config, **kwargs))


def _parent_config(config: RunnableConfig | None) -> dict[str, Any]:
    """The caller's callbacks, tags and metadata for the graph's run, plus the model-call metrics as a
    handler of the model calls only (in the run's callbacks, every node and channel write of the graph
    would report to it)."""
    parent: dict[str, Any] = {k: v for k, v in (config or {}).items() if k in ("callbacks", "tags", "metadata")}
    parent[MODEL_CALLBACKS] = [metrics.ModelCallMetrics()]
    return parent
