"""The ray engine's handling of worker deaths, with stand-in actors (no Ray processes): items in flight on
a worker that died run again; an item in flight at two deaths runs alone, and if the worker dies even
then, only that item fails. Also: what a worker is sent, and a worker that cannot set up."""

from __future__ import annotations

import asyncio
import os
import re
from typing import Any

import pytest

pytest.importorskip("ray")

from ray.exceptions import RayActorError

from spri.api import Result, make_context
from spri.batch.engine import Failure
from spri.batch.progress import Stats
from spri.batch.ray_cluster import RayCluster, RayError
from spri.batch.ray_engine import RayEngine, worker_spec
from spri.batch.ray_worker import ItemWorker
from spri.batch.runner import LOOK_AHEAD, run_on
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


class StandInCluster:
    """A cluster with ``cpus`` CPUs that starts at once (no Ray processes)."""

    def __init__(self, cpus: int, address: str | None = None) -> None:
        self.address, self.joined, self.n = address, address is not None, cpus
        self.stopped = False

    def start(self) -> Any:
        return None

    def cpus(self) -> int:
        return self.n

    def stop(self) -> None:
        self.stopped = True


async def _started(engine: RayEngine, cluster: StandInCluster, monkeypatch: Any) -> RayEngine:
    async def no_actors(ray: Any) -> None:
        return None

    engine.cluster = cluster  # type: ignore[assignment]
    monkeypatch.setattr(engine, "_start_workers", no_actors)
    async with engine:
        pass
    assert cluster.stopped
    return engine


@pytest.mark.parametrize(("requested", "items", "workers"), [(None, 1, 1), (None, 3, 2), (None, None, 2), (3, 1, 3)])
async def test_no_more_workers_than_items_unless_asked(monkeypatch, requested, items, workers):
    engine = RayEngine({}, requested, 4, None)
    engine.items = items
    await _started(engine, StandInCluster(cpus=2), monkeypatch)
    assert engine.workers == workers and engine.slots == workers * 4
    assert set(engine.facts()["engine_start_split_s"]) == {"cluster", "workers"}


async def test_the_start_is_reported_on_one_stderr_line_unless_quiet(monkeypatch, capsys):
    await _started(RayEngine({}, None, 2, None, progress=True), StandInCluster(cpus=2), monkeypatch)
    line = capsys.readouterr().err
    cpus = os.cpu_count() or 1
    started = rf"starting a private Ray cluster \({cpus} CPUs\)\.\.\. ready in \d+\.\d s \(2 workers\)\n"
    assert re.fullmatch(started, line)
    await _started(RayEngine({}, 1, 2, "10.0.0.1:6379", progress=True), StandInCluster(2, "10.0.0.1:6379"), monkeypatch)
    assert capsys.readouterr().err.startswith("joining the Ray cluster at 10.0.0.1:6379... ready in ")
    await _started(RayEngine({}, None, 2, None), StandInCluster(cpus=2), monkeypatch)
    assert capsys.readouterr().err == ""


async def test_a_failed_start_ends_its_line_before_the_error(monkeypatch, capsys):
    engine = RayEngine({}, None, 2, None, progress=True)
    cluster = StandInCluster(cpus=2)
    engine.cluster = cluster  # type: ignore[assignment]

    def refuse() -> Any:
        raise RayError("the local Ray did not start")

    monkeypatch.setattr(cluster, "start", refuse)
    with pytest.raises(RayError):
        async with engine:
            pass
    assert capsys.readouterr().err.endswith("... failed\n") and cluster.stopped


class CountingEngine:
    """An engine that records what it was told before it started, and runs nothing."""

    workers, slots, items = 1, 2, None

    async def __aenter__(self) -> CountingEngine:
        self.told = self.items
        return self

    async def __aexit__(self, *exc: Any) -> None:
        return None

    def facts(self) -> dict[str, Any]:
        return {}


@pytest.mark.parametrize(("count", "told"), [(3, 3), (LOOK_AHEAD, None), (LOOK_AHEAD + 5, None)])
async def test_the_engine_is_told_a_small_runs_item_count_before_it_starts(count, told):
    engine, ran = CountingEngine(), []

    class Recording:
        async def one(self, work: Work) -> None:
            ran.append(work.item_id)

    works = (Work(f"i{n}", {}) for n in range(count))
    await run_on(engine, works, Recording(), Stats())  # type: ignore[arg-type]
    assert engine.told == told and ran == [f"i{n}" for n in range(count)]


def test_a_private_ray_that_cannot_be_joined_keeps_its_logs_and_names_them(monkeypatch, tmp_path):
    import shutil

    import ray

    from spri.batch import ray_cluster

    monkeypatch.setattr(ray_cluster, "_prepare_auth", lambda own_head: None)
    monkeypatch.setattr(ray_cluster, "_temp_root", lambda: str(tmp_path))
    monkeypatch.setattr(ray_cluster.PrivateHead, "launch", lambda head: head)  # no Ray processes
    monkeypatch.setattr(ray_cluster.PrivateHead, "wait", lambda head: None)

    def refuse(**options: Any) -> None:
        raise ConnectionError("Failed to register worker to Raylet")

    monkeypatch.setattr(ray, "init", refuse)
    cluster = RayCluster(None)
    with pytest.raises(RayError, match=r"cannot connect to the local Ray just started: Failed to register") as raised:
        cluster.start()
    kept = [folder for folder in tmp_path.iterdir() if folder.name.startswith("spri-ray-")]
    assert len(kept) == 1 and f"(its logs: {kept[0]})" in str(raised.value) and cluster.head is None
    shutil.rmtree(kept[0])
