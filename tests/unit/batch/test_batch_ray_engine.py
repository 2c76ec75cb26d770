"""The ray engine's handling of worker deaths, with stand-in actors (no Ray processes): items in flight on
a worker that died run again; an item in flight at two deaths runs alone, and if the worker dies even
then, only that item fails. Also: what a worker is sent, and a worker that cannot set up."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

pytest.importorskip("ray")

from ray.exceptions import RayActorError

from spri.api import Result, make_context
from spri.batch.engine import Failure
from spri.batch.ray_cluster import RayError
from spri.batch.ray_engine import RayEngine, worker_spec
from spri.batch.ray_worker import ItemWorker
from spri.batch.selection import Work
from tests.support.fakes import scripted


class Method:
    def __init__(self, fn: Any) -> None:
        self.fn = fn

    def remote(self, *args: Any) -> Any:
        return self.fn(*args)


class StandInActor:
    """Runs items after a short wait; a 'poison' item kills the worker, and with it every item in flight."""

    def __init__(self, log: dict[str, Any]) -> None:
        self.log, self.in_flight = log, set()
        self.run = Method(self._run)
        self.startup_problem = Method(self._ready)

    async def _ready(self) -> None:
        return None

    async def _run(self, item_id: str, inputs: dict[str, Any]) -> dict[str, Any]:
        future = asyncio.get_running_loop().create_future()
        self.in_flight.add(future)
        self.log["peak"] = max(self.log["peak"], sum(len(a.in_flight) for a in self.log["actors"]))
        self.log["runs"].append((item_id, sum(len(a.in_flight) for a in self.log["actors"])))
        try:
            if inputs.get("poison"):
                await asyncio.sleep(0.02)
                for other in list(self.in_flight):
                    if not other.done():
                        other.set_exception(RayActorError())
            else:
                asyncio.get_running_loop().call_later(0.05, lambda: future.done() or future.set_result(None))
            await future
            return {"result": Result(response=f"answer {item_id}").model_dump(mode="json")}
        finally:
            self.in_flight.discard(future)


def engine_with(actors: int, concurrency: int) -> tuple[RayEngine, dict[str, Any]]:
    engine = RayEngine({}, actors, concurrency, None)
    log: dict[str, Any] = {"peak": 0, "runs": [], "actors": []}
    engine.actors = [StandInActor(log) for _ in range(actors)]
    log["actors"] = engine.actors
    engine.load = [0] * actors
    return engine, log


async def test_a_poison_item_fails_alone_and_the_items_it_took_down_run_again():
    engine, log = engine_with(actors=2, concurrency=3)
    works = [Work(f"i{n}", {"poison": n == 4}) for n in range(12)]
    semaphore = asyncio.Semaphore(engine.slots)

    async def one(work: Work) -> Any:
        async with semaphore:
            return await engine.run(work)

    outcomes = dict(zip([w.item_id for w in works], await asyncio.gather(*map(one, works)), strict=True))
    poison = outcomes.pop("i4")
    assert isinstance(poison, Failure) and poison.kind == "WorkerDied" and not poison.systemic
    assert all(isinstance(o, Result) and o.response == f"answer {i}" for i, o in outcomes.items())
    poison_runs = [in_flight for item, in_flight in log["runs"] if item == "i4"]
    assert len(poison_runs) == 3 and poison_runs[-1] == 1  # the third time, nothing else was in flight
    rerun = {item for item, _ in log["runs"] if item != "i4" and [i for i, _ in log["runs"]].count(item) > 1}
    assert rerun, "items in flight with the poison item should have run again"
    assert engine.deaths >= 3 and log["peak"] <= engine.slots


def test_a_worker_is_sent_settings_by_name_and_files_by_absolute_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "seeds.jsonl").write_text('{"query": "q", "principles": "p"}\n')
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    spec = worker_spec(make_context(model="openai:m", seeds="seeds.jsonl"), ["http://127.0.0.1:9/v1"], 4)
    assert spec["settings"]["model"] == "openai:m" and spec["settings"]["seeds"] == str(tmp_path / "seeds.jsonl")
    assert spec["base_urls"] == ["http://127.0.0.1:9/v1"] and spec["max_in_flight"] == 4
    with pytest.raises(RayError, match=r"--engine ray needs models given by name"):
        worker_spec(make_context(model=scripted("x")), None, None)


async def test_a_worker_that_cannot_set_up_says_why_and_fails_its_items():
    worker = ItemWorker({"settings": {"profile": "no-such-profile"}})
    assert "unknown profile 'no-such-profile'" in (worker.startup_problem() or "")
    reply = await worker.run("a", {"query": "q"})
    assert reply["failure"]["kind"] == "WorkerSetup"
