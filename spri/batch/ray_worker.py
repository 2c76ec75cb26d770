"""The Ray actor that runs items: it builds its models and context once from plain settings (chat model
objects do not travel between processes) and answers each item with plain data, never an exception,
so one item's failure never takes the worker or other items down."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from spri.api import explain
from spri.batch.engine import Failure, LocalEngine, shared_context, with_pools
from spri.batch.selection import Work


class ItemWorker:
    """Up to the actor's ``max_concurrency`` items at once, on the actor's event loop."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.problem: str | None = None
        self.engine: LocalEngine | None = None
        try:
            ctx = shared_context(dict(spec["settings"]))
            self.engine = LocalEngine(with_pools(ctx, spec.get("base_urls"), spec.get("max_in_flight")), 1)
        except Exception as exc:  # reported by startup_problem(), so the driver can name it
            self.problem = explain(exc)[0]

    def startup_problem(self) -> str | None:
        return self.problem

    async def run(self, item_id: str, inputs: dict[str, Any]) -> dict[str, Any]:
        if self.engine is None:
            return {"failure": asdict(Failure(self.problem or "worker not set up", "WorkerSetup"))}
        outcome = await self.engine.run(Work(item_id, inputs))
        if isinstance(outcome, Failure):
            return {"failure": asdict(outcome)}
        return {"result": outcome.model_dump(mode="json")}
