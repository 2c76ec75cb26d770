"""The ray engine: items run on N Ray actor workers, each with up to C items in flight.

The driver (this process) reads the input, decides what runs, and is the only writer of the output, as
with the local engine: an item counts as done only once its line is fsynced here, so a kill of the
driver, a worker or a node never duplicates an id. A worker process that dies (crash, out of memory,
node lost) is restarted by Ray; the items it had in flight run again, and an item in flight at two
deaths then runs alone, so a poison item is found out without failing innocent ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from spri.api import Context, Result
from spri.batch.engine import Failure, Outcome
from spri.batch.ray_cluster import START_TIMEOUT, RayCluster, RayError, forwarded_environment
from spri.batch.ray_worker import ItemWorker
from spri.batch.settings import file_digest

WORKER_RETURN_TIMEOUT = float(os.environ.get("SPRI_RAY_WORKER_TIMEOUT", "300"))
"""How long a restarting worker may take to come back before the batch stops (its node lost for good)."""


def worker_spec(ctx: Context, base_urls: list[str] | None, max_in_flight: int | None) -> dict[str, Any]:
    """What a worker needs to build the same context: settings as plain data, files by absolute path."""
    settings = json.loads(ctx.to_json())
    for key in ("model", "critic_model"):
        value = getattr(ctx, key)
        if value is not None and not isinstance(value, str):
            raise RayError(f"--engine ray needs models given by name (e.g. openai:NAME), not objects ({key})")
    for key in ("profile", "seeds"):
        if file_digest(settings[key]) is not None:
            settings[key] = os.path.abspath(os.path.expanduser(settings[key]))
    return {"settings": settings, "base_urls": base_urls or [], "max_in_flight": max_in_flight}


@dataclass
class SoloGate:
    """Items pass together; an item that a worker died running twice passes alone, once the others left."""

    cond: asyncio.Condition = field(default_factory=asyncio.Condition)
    active: int = 0
    waiting_alone: int = 0
    alone: bool = False

    @contextlib.asynccontextmanager
    async def enter(self, alone: bool) -> AsyncIterator[None]:
        async with self.cond:
            if alone:
                self.waiting_alone += 1
                await self.cond.wait_for(lambda: self.active == 0 and not self.alone)
                self.waiting_alone -= 1
                self.alone = True
            else:
                await self.cond.wait_for(lambda: not self.alone and not self.waiting_alone)
                self.active += 1
        try:
            yield
        finally:
            async with self.cond:
                if alone:
                    self.alone = False
                else:
                    self.active -= 1
                self.cond.notify_all()


class RayEngine:
    name = "ray"

    def __init__(
        self, spec: dict[str, Any], workers: int | None, concurrency: int, address: str | None, progress: bool = False
    ) -> None:
        self.spec, self.requested, self.concurrency, self.progress = spec, workers, concurrency, progress
        self.items: int | None = None
        """How many items this run has, when known before the start (then no more workers than items)."""
        self.cluster = RayCluster(address)
        self.workers = workers or 0
        self.slots = max(1, self.workers) * concurrency
        self.actors: list[Any] = []
        self.load: list[int] = []
        self.down: set[int] = set()
        self.turn = 0
        self.free = asyncio.Condition()
        self.gate = SoloGate()
        self.deaths = 0
        self.start_split: dict[str, float] = {}
        self._stdout = contextlib.ExitStack()

    def facts(self) -> dict[str, Any]:
        return {"worker_deaths": self.deaths, "engine_start_split_s": self.start_split}

    async def __aenter__(self) -> RayEngine:
        # Ray prints some cluster messages to sys.stdout; ours carries only the summary JSON.
        self._stdout.enter_context(contextlib.redirect_stdout(sys.stderr))
        started = time.monotonic()
        self._say(
            f"joining the Ray cluster at {self.cluster.address}... "
            if self.cluster.joined
            else f"starting a private Ray cluster ({os.cpu_count() or 1} CPUs)... "
        )
        try:
            ray = self.cluster.start()
            self.start_split["cluster"] = round(time.monotonic() - started, 2)
            self.workers = self.requested or min(self.cluster.cpus(), self.items or sys.maxsize)
            self.slots = self.workers * self.concurrency
            await self._start_workers(ray)
        except BaseException:
            self._say("failed\n")
            await self.__aexit__()
            raise
        self.start_split["workers"] = round(time.monotonic() - started - self.start_split["cluster"], 2)
        plural = "s" if self.workers > 1 else ""
        self._say(f"ready in {time.monotonic() - started:.1f} s ({self.workers} worker{plural})\n")
        return self

    def _say(self, text: str) -> None:
        """Part of the start-up line on stderr (none with progress off)."""
        if self.progress:
            sys.stderr.write(text)
            sys.stderr.flush()

    async def _start_workers(self, ray: Any) -> None:
        options: dict[str, Any] = {
            "num_cpus": 0,
            "max_concurrency": self.concurrency,
            "max_restarts": -1,  # a dead worker comes back (on another node if its own is gone)
            "max_task_retries": 0,  # and the driver decides what to do with the items it had
            "scheduling_strategy": "SPREAD",
        }
        if self.cluster.joined:
            options["runtime_env"] = {"env_vars": forwarded_environment()}
        worker = ray.remote(ItemWorker).options(**options)
        self.actors = [worker.remote(self.spec) for _ in range(self.workers)]
        self.load = [0] * self.workers
        try:
            problems = await asyncio.wait_for(
                asyncio.gather(*(_get(actor.startup_problem.remote()) for actor in self.actors)), START_TIMEOUT
            )
        except TimeoutError as exc:
            raise RayError(f"{self.workers} Ray workers did not start within {START_TIMEOUT:.0f} s") from exc
        problem = next((p for p in problems if p), None)
        if problem:
            raise RayError(f"the Ray workers cannot set up: {problem}")

    async def __aexit__(self, *exc: Any) -> None:
        try:
            self.cluster.stop()  # in this (main) thread, which the private Ray's launcher watches
        finally:
            self._stdout.close()

    async def run(self, work: Any) -> Outcome:
        deaths = 0
        while True:
            async with self.gate.enter(alone=deaths >= 2):
                outcome = await self._attempt(work)
            if outcome is not None:
                return outcome
            deaths += 1
            self.deaths += 1
            if deaths > 2:
                return Failure(
                    "a Ray worker died running this item three times, the last time alone: the item probably "
                    "crashes it (see the Ray logs)",
                    "WorkerDied",
                    systemic=False,
                )

    async def _attempt(self, work: Any) -> Outcome | None:
        """The item's outcome, or None if the worker died running it (it is back when this returns)."""
        from ray.exceptions import RayActorError
        from ray.exceptions import RayError as AnyRayError

        index = await self._take()
        try:
            return decode(await _get(self.actors[index].run.remote(work.item_id, work.inputs)))
        except RayActorError:
            await self._until_ready(index)
            return None
        except AnyRayError as exc:
            return Failure(f"Ray could not run this item: {str(exc).strip().splitlines()[0]}", type(exc).__name__)
        finally:
            await self._give(index)

    async def _take(self) -> int:
        async with self.free:
            await self.free.wait_for(lambda: any(self._usable(i) for i in range(self.workers)))
            usable = [i for i in range(self.workers) if self._usable(i)]
            self.turn += 1
            index = min(usable, key=lambda i: (self.load[i], (i - self.turn) % self.workers))
            self.load[index] += 1
            return index

    def _usable(self, index: int) -> bool:
        return self.load[index] < self.concurrency and index not in self.down

    async def _give(self, index: int) -> None:
        async with self.free:
            self.load[index] -= 1
            self.free.notify_all()

    async def _until_ready(self, index: int) -> None:
        """Wait while Ray restarts the worker (calls to it fail at once meanwhile: no spinning)."""
        from ray.exceptions import RayActorError

        async with self.free:
            self.down.add(index)
        try:
            deadline = asyncio.get_running_loop().time() + WORKER_RETURN_TIMEOUT
            while True:
                try:
                    await _get(self.actors[index].startup_problem.remote())
                    return
                except RayActorError:
                    if asyncio.get_running_loop().time() > deadline:
                        raise RayError(
                            f"a Ray worker did not come back within {WORKER_RETURN_TIMEOUT:.0f} s after it died "
                            "(its node lost for good?); finished items are kept: run the same command again"
                        ) from None
                    await asyncio.sleep(0.5)
        finally:
            async with self.free:
                self.down.discard(index)
                self.free.notify_all()


async def _get(ref: Any) -> Any:
    return await ref


def decode(reply: dict[str, Any]) -> Outcome:
    if "failure" in reply:
        return Failure(**reply["failure"])
    return Result.model_validate(reply["result"])
