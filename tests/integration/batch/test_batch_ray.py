"""`spri batch --engine ray` against the loopback OpenAI server: the same records as the local engine,
exactly once through a SIGKILL of the driver and the loss of a node, joining a cluster the test started,
the settings guard across engines, and no Ray process left behind by a private Ray.

Ray start-up costs seconds, so each test runs few Rays: one private Ray per run, and one simulated
three-node cluster (ray.cluster_utils.Cluster) shared by the cluster tests."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.batch import make_input, run_batch
from tests.support.openai_server import OpenAIServer
from tests.support.policies import accepting
from tests.support.processes import batch_command, cli_env

if importlib.util.find_spec("ray") is None:  # (not imported here: Ray reads its token settings when imported)
    pytest.skip("the ray extra is not installed", allow_module_level=True)

TOKEN = "spri-tests-" + "5" * 40
"""The cluster tests' Ray token (set before ray is imported here, and given to the spri processes)."""


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """A short TMPDIR for the spri process: Ray's socket paths must stay under 107 characters, and every
    Ray process a private Ray starts has this folder in its command line."""
    folder = Path(tempfile.mkdtemp(prefix="sr", dir="/tmp"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def env(tmp_path, short_tmp) -> dict[str, str]:
    return cli_env(tmp_path, OPENAI_API_KEY="test-key", SPRI_TIMEOUT="30", TMPDIR=str(short_tmp))


def part_records(out: Path) -> list[dict[str, Any]]:
    """Every record of a part folder; each part must end with a complete line."""
    records = []
    for part in sorted(out.glob("part-*.jsonl")):
        raw = part.read_bytes()
        assert not raw or raw.endswith(b"\n"), f"partial last line in {part.name}"
        records += [json.loads(line) for line in raw.splitlines()]
    return records


def exactly_once(out: Path, n: int) -> list[str]:
    ids = [r["id"] for r in part_records(out)]
    assert len(ids) == len(set(ids)), "duplicate ids"
    assert sorted(ids) == [f"item-{i:03d}" for i in range(n)]
    return ids


def lines_in(out: Path) -> int:
    return sum(p.read_bytes().count(b"\n") for p in out.glob("part-*.jsonl"))


def wait_for(condition: Any, what: str, proc: subprocess.Popen | None = None, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the batch ended (exit code {proc.returncode}) before {what}")
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def pids_with(marker: str) -> set[int]:
    """Processes whose command line contains ``marker``."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "cmdline").read_bytes():
                    found.add(int(entry.name))
            except OSError:
                continue
    return found


def sessions_of(marker: str) -> set[int]:
    """The sessions of processes whose command line contains ``marker`` (a private Ray's processes)."""
    found = set()
    for pid in pids_with(marker):
        try:
            found.add(os.getsid(pid))
        except ProcessLookupError:
            continue
    return found


def alive_in(sessions: set[int]) -> list[int]:
    alive = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
                if os.getsid(int(entry.name)) in sessions and state != "Z":
                    alive.append(int(entry.name))
            except (OSError, ProcessLookupError, IndexError):
                continue
    return alive


def assert_no_ray_left(short_tmp: Path, sessions: set[int] | None = None) -> None:
    sessions = sessions_of(str(short_tmp)) | (sessions or set())
    gone = lambda: not alive_in(sessions) and not sessions_of(str(short_tmp))  # noqa: E731
    wait_for(gone, "the private Ray to be gone", timeout=60)


def ray_batch(env: dict[str, str], source: str, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return run_batch(env, source, out, "--engine", "ray", *extra, timeout=600)


def test_ray_engine_writes_what_the_local_engine_writes(env, tmp_path, short_tmp):
    source = make_input(tmp_path / "in.jsonl", 16)
    with OpenAIServer(accepting()) as server:
        env["OPENAI_BASE_URL"] = server.base_url
        local = run_batch(env, source, tmp_path / "local.jsonl", "--concurrency", "4")
        assert local.returncode == 0, local.stderr
        local_requests = len(server.requests)
        ray = ray_batch(env, source, tmp_path / "ray", "--workers", "2", "--concurrency", "3")
        assert ray.returncode == 0 and "Ray cluster" not in ray.stderr, ray.stderr  # quiet (-q): no start-up line
        assert len(server.requests) == 2 * local_requests == 2 * 16 * 4
        again = run_batch(env, source, tmp_path / "ray", "--concurrency", "2")  # the other engine may resume it
        assert again.returncode == 0 and len(server.requests) == 2 * local_requests, again.stderr
    summary = json.loads(ray.stdout)
    assert summary["engine"] == "ray" and summary["workers"] == 2 and summary["done"] == 16
    assert json.loads(local.stdout)["engine"] == "local"
    assert json.loads(again.stdout)["skipped_already_done"] == 16
    exactly_once(tmp_path / "ray", 16)
    keep = ("id", "input", "principles", "response", "stop_reason", "calls", "scores", "rounds")
    by_id = {r["id"]: {k: r.get(k) for k in keep} for r in part_records(tmp_path / "ray")}
    local_records = [json.loads(line) for line in (tmp_path / "local.jsonl").read_text().splitlines()]
    assert by_id == {r["id"]: {k: r.get(k) for k in keep} for r in local_records}
    assert_no_ray_left(short_tmp)
    datasets = pytest.importorskip("datasets")  # the part folder as the README says to read it
    parts = str(tmp_path / "ray" / "part-*.jsonl")
    loaded = datasets.load_dataset("json", data_files=parts, split="train", cache_dir=str(tmp_path / "hf"))
    assert sorted(loaded["id"]) == sorted(by_id)


def test_settings_guard_holds_across_engines(env, tmp_path, short_tmp):
    source = make_input(tmp_path / "in.jsonl", 4)
    out = tmp_path / "out"
    with OpenAIServer(accepting()) as server:
        env["OPENAI_BASE_URL"] = server.base_url
        first = run_batch(env, source, f"{out}/", "--limit", "2")  # a part folder, by the local engine
        assert first.returncode == 0, first.stderr
        before = {p.name: p.read_bytes() for p in out.iterdir()}
        for change, named in [
            (["--min-score", "5"], "was made with --min-score 4, this run has 5"),
            (["--format", "alpaca"], "was made with --format full, this run has alpaca"),
        ]:
            other = ray_batch(env, source, out, *change)
            assert other.returncode == 2 and named in other.stderr, other.stderr
            assert other.stderr.count("\n") == 1
        assert {p.name: p.read_bytes() for p in out.iterdir()} == before and len(server.requests) == 2 * 4
        assert not sessions_of(str(short_tmp)), "refused before Ray was started"
        with open(source, "a") as handle:  # line 5: not JSON, reported with its line number by the driver
            handle.write("{not json\n")
        # execution settings may change: another engine, worker count and speculation; not quiet this time
        command = batch_command(source, out, "--engine", "ray", "--workers", "2", "--speculate")
        command.remove("-q")
        rest = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
        assert rest.returncode == 1, rest.stderr  # 1: an item failed (the bad line)
    cpus = os.cpu_count() or 1
    started = rf"(?m)^starting a private Ray cluster \({cpus} CPUs\)\.\.\. ready in \d+\.\d s \(2 workers\)$"
    assert re.search(started, rest.stderr), rest.stderr
    summary = json.loads(rest.stdout)
    assert summary["done"] == 2 and summary["skipped_already_done"] == 2 and summary["failed"] == 1
    exactly_once(out, 4)
    errors = [json.loads(line) for line in (out / "errors.jsonl").read_text().splitlines()]
    assert [(e["id"], e["line"], e["type"]) for e in errors] == [("line-5", 5, "BadLine")]
    assert json.loads((out / "meta.json").read_text())["execution"]["workers"] == 2
    assert_no_ray_left(short_tmp)


def test_driver_killed_mid_run_then_rerun_gives_every_id_once_and_leaves_no_ray(env, tmp_path, short_tmp):
    source = make_input(tmp_path / "in.jsonl", 60)
    out = tmp_path / "out"
    with OpenAIServer(accepting(delay=0.1)) as server:
        env["OPENAI_BASE_URL"] = server.base_url
        command = batch_command(source, out, "--engine", "ray", "--workers", "2", "--concurrency", "3")
        driver = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: lines_in(out) >= 5, "5 finished items", driver)
        sessions = sessions_of(str(short_tmp))
        assert sessions, "no private Ray processes found"
        driver.send_signal(signal.SIGKILL)
        driver.wait(30)
        assert_no_ray_left(short_tmp, sessions)
        last = sorted(out.glob("part-*.jsonl"))[-1]
        with last.open("ab") as part:  # what a kill in the middle of a write leaves
            part.write(b'{"id": "item-0')
        assert list(short_tmp.glob("spri-ray-*")), "the killed run's Ray folder is left, for the next run"
        done = ray_batch(env, source, out, "--workers", "2", "--concurrency", "3")
    assert done.returncode == 0, done.stderr
    assert not list(short_tmp.glob("spri-ray-*")), "the next run removes it, and its own"
    exactly_once(out, 60)
    summary = json.loads(done.stdout)
    assert summary["skipped_already_done"] >= 5 and summary["skipped_already_done"] + summary["done"] == 60
    assert_no_ray_left(short_tmp)
    finished = ray_batch(env, source, out, "--workers", "2")  # nothing left to run: no Ray is started
    assert finished.returncode == 0 and json.loads(finished.stdout)["skipped_already_done"] == 60
    assert json.loads(finished.stdout)["engine_start_s"] == 0.0 and not sessions_of(str(short_tmp))


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    """A head and two worker nodes on this machine, one CPU each, with their own temp folder and token."""
    root = Path(tempfile.mkdtemp(prefix="sc", dir="/tmp"))
    (root / "ray").mkdir()
    names = ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_TMPDIR", "RAY_USAGE_STATS_ENABLED")
    saved = {name: os.environ.get(name) for name in names}
    os.environ.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=TOKEN, RAY_TMPDIR=str(root), RAY_USAGE_STATS_ENABLED="0")
    started = None
    try:
        from ray._raylet import AuthenticationTokenLoader, Config
        from ray.cluster_utils import Cluster

        Config.initialize("")  # in case another test imported ray before these settings
        AuthenticationTokenLoader.instance().reset_cache()
        started = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "temp_dir": str(root)})
        started.add_node(num_cpus=1)
        started.add_node(num_cpus=1)
        started.wait_for_nodes()
        yield started
    finally:
        if started is not None:
            started.shutdown()
        for pid in pids_with(str(root)) if started is None else ():  # a cluster that failed half-way up
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        wait_for(lambda: not pids_with(str(root)), "the test cluster's processes to end", timeout=60)
        for name, value in saved.items():
            os.environ.pop(name, None) if value is None else os.environ.__setitem__(name, value)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def cluster_env(env, cluster) -> dict[str, str]:
    return {**env, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": TOKEN}


def test_joins_a_cluster_by_address_and_leaves_it_running(cluster_env, tmp_path, cluster):
    source = make_input(tmp_path / "in.jsonl", 12)
    with OpenAIServer(accepting()) as server:
        cluster_env["OPENAI_BASE_URL"] = server.base_url
        cluster_env["RAY_ADDRESS"] = cluster.address  # the flag's fallback
        done = ray_batch(cluster_env, source, tmp_path / "out", "--workers", "2")
    assert done.returncode == 0, done.stderr
    exactly_once(tmp_path / "out", 12)
    assert json.loads(done.stdout)["workers"] == 2
    meta = json.loads((tmp_path / "out" / "meta.json").read_text())
    assert meta["execution"]["ray_address"] == cluster.address
    assert cluster.remaining_processes_alive()


def _node_running_a_worker(cluster: Any) -> Any:
    """A worker node whose raylet has a spri worker process among its children."""
    for node in list(cluster.worker_nodes):
        raylet = node.all_processes["raylet"][0].process.pid
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text()
                    if "ItemWorker" in stat and int(stat.rsplit(")", 1)[1].split()[1]) == raylet:
                        return node
                except (OSError, IndexError, ValueError):
                    continue
    return None


def test_a_node_lost_mid_run_the_job_finishes_exactly_once(cluster_env, tmp_path, cluster):
    source = make_input(tmp_path / "in.jsonl", 60)
    out = tmp_path / "out"
    with OpenAIServer(accepting(delay=0.15)) as server:
        cluster_env["OPENAI_BASE_URL"] = server.base_url
        command = batch_command(
            source, out, "--engine", "ray", "--workers", "3", "--concurrency", "2", "--ray-address", cluster.address
        )
        driver = subprocess.Popen(command, env=cluster_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wait_for(lambda: lines_in(out) >= 6, "6 finished items", driver)
        # a worker node's actor may still be starting (slow on a busy machine) when the head's has done 6
        wait_for(lambda: _node_running_a_worker(cluster) is not None, "a spri worker on a worker node", driver)
        node = _node_running_a_worker(cluster)
        assert node is not None
        cluster.remove_node(node, allow_graceful=False)
        stdout, stderr = driver.communicate(timeout=600)
    assert driver.returncode == 0, stderr[-3000:]
    exactly_once(out, 60)
    summary = json.loads(stdout)
    assert summary["done"] + summary["skipped_already_done"] == 60 and summary["worker_deaths"] >= 1
