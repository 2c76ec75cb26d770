"""P7 — `spri batch --engine ray`: scaling with workers, local vs ray when the framework's CPU is the limit,
Ray's start-up cost, and framework CPU per model call for each engine; and start-up costs: one item on
each engine (wall including start and stop), and `spri ask` until its first model call.

Every run is a real `spri batch` process against the fake OpenAI server (benchmarks/fake_openai.py, its
own process; its CPU is not counted). The critic accepts at once, so an item is 4 calls.

- Latency-bound: 0.5 s per call, 8 items in flight per worker, 32 items per worker; 1, 2 and 4 workers.
  Throughput is items per second of work (the run's time minus Ray's start-up), and should scale about
  linearly (target: 2 workers >= 1.8 x one).
- CPU-bound: no latency, 160 items; the local engine (16 in flight) against ray with 2 workers (8 each),
  both on this machine's cores.
- Start-up: the time from entering the engine to its workers being ready (a private Ray head, then the
  actors), reported by the batch summary as ``engine_start_s``.
- One item: `spri batch` on one item with no latency, local and ray alternated, wall time of the whole
  process (start, the 4 calls, stop), Ray's start split into the cluster (head up and connected) and
  the workers (ready to take items), and the CPU of every process involved.
- `spri ask` start-up: from starting `spri ask` to its first model call (a TCP connection to a listener
  standing in for the endpoint), against `spri --version` (the interpreter and the CLI's entry point).
- CPU per call: the CPU time of the processes doing the work, read from /proc while the run goes, from
  the first finished item to the end (start-up CPU is reported apart): for local the `spri` process; for
  ray the driver and the workers, and apart from them Ray's own daemons.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from harness import fake_endpoint, main, repeats, scratch, spread, write_items

from tests.support.processes import batch_command, cli_env

LATENCY, IN_FLIGHT, ITEMS_PER_WORKER, WORKER_COUNTS = 0.5, 8, 32, (1, 2, 4)
CPU_ITEMS, CPU_LOCAL_IN_FLIGHT = 160, 16
TICK = os.sysconf("SC_CLK_TCK")


class CpuWatch:
    """CPU seconds of a driver process and of the Ray processes started under ``marker`` (a temp folder
    in their command lines), sampled from /proc until the driver ends."""

    def __init__(self, driver: int, marker: str, lines: Any) -> None:
        self.driver, self.marker, self.lines = driver, marker.encode(), lines
        self.ticks: dict[int, tuple[str, int]] = {}
        self.sessions: set[int] = set()
        self.at_first_item: tuple[dict[str, float], int] | None = None
        """CPU by kind and items written when the first finished item was seen (start-up is before it)."""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.is_set():
            self.sample()
            if self.at_first_item is None and self.lines() > 0:
                self.at_first_item = (self.totals(), self.lines())
            time.sleep(0.2)

    def sample(self) -> None:
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            pid = int(entry.name)
            try:
                if pid != self.driver and self.marker in (entry / "cmdline").read_bytes():
                    self.sessions.add(os.getsid(pid))  # a private Ray's (the driver's is this benchmark's)
                if pid != self.driver and os.getsid(pid) not in self.sessions:
                    continue
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                comm = (entry / "comm").read_text().strip()
            except (OSError, ProcessLookupError):
                continue
            used = int(fields[11]) + int(fields[12])  # utime + stime
            kind = "driver" if pid == self.driver else ("worker" if "ItemWorker" in comm else "ray")
            self.ticks[pid] = (kind, max(used, self.ticks.get(pid, (kind, 0))[1]))

    def totals(self) -> dict[str, float]:
        totals: dict[str, float] = {"driver": 0.0, "worker": 0.0, "ray": 0.0}
        for kind, used in list(self.ticks.values()):
            totals[kind] += used / TICK
        return totals

    def stop(self) -> dict[str, float]:
        self._stop.set()
        self._thread.join()
        return self.totals()


def _lines(out: Path) -> int:
    files = sorted(out.glob("part-*.jsonl")) if out.is_dir() else [out] if out.is_file() else []
    return sum(f.read_bytes().count(b"\n") for f in files)


def run_batch(items: int, latency: float, *engine: str) -> dict[str, Any]:
    """One `spri batch` process: its summary, wall time, start-up, and CPU by kind of process in steady
    state (from the first finished item to the end)."""
    folder = scratch("p7")
    out = folder / "out"
    try:
        source = write_items(folder, items)
        with fake_endpoint(latency) as base_url:
            env = cli_env(folder, OPENAI_API_KEY="bench", OPENAI_BASE_URL=base_url, TMPDIR=str(folder))
            start = time.perf_counter()
            proc = subprocess.Popen(batch_command(source, out, *engine), env=env, stdout=subprocess.PIPE, text=True)
            watch = CpuWatch(proc.pid, str(folder), lambda: _lines(out))
            stdout, _ = proc.communicate(timeout=1800)
            wall = time.perf_counter() - start
            cpu = watch.stop()
        summary = json.loads(stdout)
        assert proc.returncode == 0 and summary["done"] == items, summary
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if items == 1:
        return _one_item(summary, wall, cpu)
    assert watch.at_first_item is not None, "no finished item was seen while the batch ran"
    before, written = watch.at_first_item
    calls = (items - written) * summary["calls"] / items
    work = max(1e-6, summary["elapsed_s"] - summary.get("engine_start_s", 0.0))
    return {
        "engine": summary["engine"],
        "workers": summary["workers"],
        "items": items,
        "wall_s": round(wall, 2),
        "start_s": summary.get("engine_start_s", 0.0),
        "start_cpu_s": round(sum(before.values()), 1),
        "work_s": round(work, 2),
        "items_per_s": round(items / work, 2),
        "cpu_ms_per_call": round(1000 * sum(cpu[k] - before[k] for k in ("driver", "worker")) / calls, 2),
        "ray_daemons_ms_per_call": round(1000 * (cpu["ray"] - before["ray"]) / calls, 2),
    }


def _one_item(summary: dict[str, Any], wall: float, cpu: dict[str, float]) -> dict[str, Any]:
    split = summary.get("engine_start_split_s") or {}
    return {
        "engine": summary["engine"],
        "wall_s": round(wall, 2),
        "start_s": summary.get("engine_start_s", 0.0),
        "cluster_s": split.get("cluster", 0.0),
        "workers_s": split.get("workers", 0.0),
        "cpu_s": round(sum(cpu.values()), 1),
    }


def one_item(runs: int) -> dict[str, list[dict[str, Any]]]:
    """``runs`` one-item batches on each engine, alternated so load falls on both alike."""
    found: dict[str, list[dict[str, Any]]] = {"local": [], "ray": []}
    for _ in range(runs):
        for engine in found:
            found[engine].append(run_batch(1, 0.0, "--engine", engine))
    return found


def ask_startup(runs: int) -> dict[str, Any]:
    """Seconds from starting `spri ask` to its first model call, and of `spri --version`, ``runs`` each."""
    first_call, version = [], []
    folder = scratch("p7-ask")
    try:
        for _ in range(runs):
            with socket.socket() as listener:
                listener.bind(("127.0.0.1", 0))
                listener.listen()
                listener.settimeout(300)
                url = f"http://127.0.0.1:{listener.getsockname()[1]}/v1"
                env = cli_env(folder, OPENAI_API_KEY="bench", OPENAI_BASE_URL=url)
                command = [sys.executable, "-m", "spri.cli", "ask", "How do I sleep better?", "--model", "openai:fake"]
                start = time.perf_counter()
                proc = subprocess.Popen([*command, "-q"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                try:
                    listener.accept()[0].close()
                    first_call.append(time.perf_counter() - start)
                finally:
                    proc.kill()
                    proc.wait(30)
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "spri.cli", "--version"], env=env, capture_output=True, check=True)
            version.append(time.perf_counter() - start)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {"first_call_s": spread(first_call), "version_s": spread(version)}


def _measure() -> dict[str, Any]:
    one = one_item(repeats(3))
    ask = ask_startup(repeats(5))
    scaling = [
        run_batch(
            ITEMS_PER_WORKER * n, LATENCY, "--engine", "ray", "--workers", str(n), "--concurrency", str(IN_FLIGHT)
        )
        for n in WORKER_COUNTS
    ]
    cpu_bound = [
        run_batch(CPU_ITEMS, 0.0, "--concurrency", str(CPU_LOCAL_IN_FLIGHT)),
        run_batch(CPU_ITEMS, 0.0, "--engine", "ray", "--workers", "2", "--concurrency", str(CPU_LOCAL_IN_FLIGHT // 2)),
    ]
    return {"one_item": one, "ask": ask, "scaling": scaling, "cpu_bound": cpu_bound}


async def measure() -> dict[str, Any]:
    return await asyncio.to_thread(_measure)


def _median(runs: list[dict[str, Any]], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def headline(results: dict[str, Any]) -> dict[str, float]:
    """Start-up figures (lower is better): one item on each engine, and `spri ask` to its first call."""
    one = results["one_item"]
    return {
        "one item, local: wall s": _median(one["local"], "wall_s"),
        "one item, ray: wall s": _median(one["ray"], "wall_s"),
        "one item, ray: CPU s": _median(one["ray"], "cpu_s"),
        "spri ask: s to first call": results["ask"]["first_call_s"]["median"],
    }


def startup_report(results: dict[str, Any]) -> list[str]:
    one, ask = results["one_item"], results["ask"]
    lines = [
        f"One item (4 calls, no latency): `spri batch` wall time including start and stop, {len(one['ray'])} runs "
        "of each engine alternated (median; every run). Ray's start = the private cluster (head up, driver "
        "connected) + the workers (ready to take items). CPU: every process of the run (driver, Ray's "
        "daemons, workers). Target: ray <= 8 s.",
        "",
        "| engine | wall (s) | runs | Ray start (s) | cluster (s) | workers (s) | CPU (s) |",
        "|---|---|---|---|---|---|---|",
    ]
    for engine, runs in one.items():
        walls = ", ".join(f"{r['wall_s']:.1f}" for r in runs)
        lines.append(
            f"| {engine} | {_median(runs, 'wall_s'):.2f} | {walls} | {_median(runs, 'start_s'):.2f} | "
            f"{_median(runs, 'cluster_s'):.2f} | {_median(runs, 'workers_s'):.2f} | {_median(runs, 'cpu_s'):.1f} |"
        )
    first, version = ask["first_call_s"], ask["version_s"]
    lines += [
        "",
        f"`spri ask` start-up: {first['median']:.2f} s from the process's start to its first model call "
        f"(runs: {', '.join(f'{v:.2f}' for v in first['runs'])}); `spri --version` takes {version['median']:.2f} s "
        "(the interpreter and the CLI's entry point). The rest is importing what the command runs on "
        "(the OpenAI client, langchain-core with LangSmith's tracer, LangGraph) and building the run.",
        "",
    ]
    return lines


def report(results: dict[str, Any]) -> str:
    scaling, cpu_bound = results["scaling"], results["cpu_bound"]
    one = scaling[0]["items_per_s"]
    two = next(r for r in scaling if r["workers"] == 2)["items_per_s"]
    starts = [r["start_s"] for r in scaling + cpu_bound if r["engine"] == "ray"]
    lines = [
        "## P7 — Ray engine",
        "",
        *startup_report(results),
        f"Latency-bound: fake endpoint with {LATENCY} s per call, {IN_FLIGHT} items in flight per worker, "
        f"{ITEMS_PER_WORKER} items per worker (4 calls each). Items/s counts work time only (the run's time "
        "minus Ray's start-up). Target: 2 workers >= 1.8 x one.",
        "",
        "| workers | items | work (s) | items/s | x one worker | Ray start-up (s) | start-up CPU (s) "
        "| CPU ms/call (driver + workers) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in scaling:
        lines.append(
            f"| {r['workers']} | {r['items']} | {r['work_s']} | {r['items_per_s']} | "
            f"{r['items_per_s'] / one:.2f} | {r['start_s']} | {r['start_cpu_s']} | {r['cpu_ms_per_call']} |"
        )
    lines += [
        "",
        f"2 workers / 1 worker: **{two / one:.2f}x** ({'meets' if two >= 1.8 * one else 'misses'} the 1.8x target).",
        "",
        f"CPU-bound: no latency, {CPU_ITEMS} items, {CPU_LOCAL_IN_FLIGHT} in flight in total, on "
        f"{os.cpu_count()} cores (the fake server, a separate process, shares them).",
        "",
        "| engine | workers | items/s (work) | wall incl. start-up (s) | start-up CPU (s) "
        "| CPU ms/call (driver + workers) | Ray daemons ms/call |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in cpu_bound:
        lines.append(
            f"| {r['engine']} | {r['workers']} | {r['items_per_s']} | {r['wall_s']} | {r['start_cpu_s']} | "
            f"{r['cpu_ms_per_call']} | "
            f"{r['ray_daemons_ms_per_call'] if r['engine'] == 'ray' else '-'} |"
        )
    lines += [
        "",
        f"Ray start-up (private head + workers ready): median {statistics.median(starts):.1f} s "
        f"(range {min(starts):.1f}-{max(starts):.1f} s over {len(starts)} runs); joining a running cluster "
        "skips the head's start. Start-up CPU is everything spent before the first item was written "
        "(imports, Ray's processes, workers building their models). CPU per call is counted from then to "
        "the end: what each engine spends around a model call (graph, client, parsing, output; for ray also "
        "the driver's scheduling and moving results between processes); Ray's daemons (raylet, GCS, "
        "agents) are shown apart.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main(measure, report)


SECTION = "p7"
"""Which section of RESULTS.md this benchmark writes (``make bench`` finds benchmarks by it)."""
