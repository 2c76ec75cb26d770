"""P11 — `spri serve` against `spri batch`: CPU per model call, wall time under load, bytes per run.

One fake OpenAI-compatible endpoint (another process, LATENCY seconds per call, the critic accepting at
once: 4 calls and a floor of 4 x LATENCY per run). In one run of this benchmark:

- ``spri batch`` (in this process) on REQUESTS items at IN_FLIGHT concurrency: CPU of this process per
  model call.
- ``spri serve`` (a child process, auth on with SPRI_API_KEY, one worker unless said) receiving REQUESTS
  requests with IN_FLIGHT in flight, on ``/spri/invoke`` and ``/spri/stream``, with SQLite and (when a
  PostgreSQL server can be had: $SPRI_TEST_PG_URL or binaries on PATH) PostgreSQL: CPU of the server's
  processes per model call (after a warm-up), wall time, p50/p99 latency, and the checkpoint database's
  bytes per finished run (threads compacted to their last checkpoint when a run ends). Then SQLite
  invoke with ``--workers 2``.
- Bytes per run of the same runs kept whole (``compact=False``), as every run was kept before.
- The SQLite invoke run once more with the server under cProfile (its main thread's CPU clock), by
  package (time in C builtins counted to the package that called them).
"""

from __future__ import annotations

import asyncio
import json
import pstats
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import psutil
from bench_cpu import by_package
from harness import ROOT, cpu_seconds, fake_endpoint, free_port, main, write_items

from tests.support.processes import cli_env, wait_for_http

REQUESTS, IN_FLIGHT, LATENCY, CALLS_PER_RUN = 400, 200, 0.5, 4
KEY = "bench-key-0123456789abcdef"
PROFILED = (
    "import cProfile, sys, time\n"
    "from spri.cli import main\n"
    "out, sys.argv = sys.argv[1], ['spri', *sys.argv[2:]]\n"
    "profile = cProfile.Profile(time.thread_time)\n"
    "profile.enable()\n"
    "try:\n    main()\n"
    "finally:\n    profile.disable()\n    profile.dump_stats(out)\n"
)
"""`spri serve` under cProfile: the statistics are written to the file named first when it exits."""
START_TIMEOUT = 300.0
"""Seconds a server may take to come up (a loaded machine takes more than a minute)."""
RESULT_EVENT = re.compile(r'"type":\s*"result"')
RUN_FLOOR = CALLS_PER_RUN * LATENCY
WALL_FLOOR = RUN_FLOOR * REQUESTS / IN_FLIGHT


def tree_cpu(process: psutil.Process) -> float:
    """CPU seconds (user + system) of a process and its live children."""
    total = 0.0
    for each in [process, *process.children(recursive=True)]:
        try:
            times = each.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


async def _load(url: str, route: str, count: int, prefix: str) -> dict[str, Any]:
    latencies: list[float] = []
    headers = {"Authorization": f"Bearer {KEY}"}
    gate = asyncio.Semaphore(IN_FLIGHT)
    limits = httpx.Limits(max_connections=IN_FLIGHT, max_keepalive_connections=IN_FLIGHT)
    async with httpx.AsyncClient(timeout=600, limits=limits, headers=headers) as client:

        async def one(i: int) -> bool:
            body = {"input": {"query": f"Q{i}?"}, "config": {"configurable": {"thread_id": f"{prefix}-{i}"}}}
            async with gate:
                start = time.perf_counter()
                if route == "invoke":
                    response = await client.post(url + "/spri/invoke", json=body)
                    ok = response.status_code == 200 and response.json()["output"]["calls"] == CALLS_PER_RUN
                else:
                    async with client.stream("POST", url + "/spri/stream", json=body) as response:
                        text = "".join([chunk async for chunk in response.aiter_text()])
                    finished = RESULT_EVENT.search(text) is not None and "event: error" not in text
                    ok = response.status_code == 200 and finished
                latencies.append(time.perf_counter() - start)
                return ok

        began = time.perf_counter()
        oks = await asyncio.gather(*(one(i) for i in range(count)))
        wall = time.perf_counter() - began
    ordered = sorted(latencies)
    return {
        "ok": sum(oks),
        "wall_s": round(wall, 2),
        "p50_s": round(statistics.median(ordered), 2),
        "p99_s": round(ordered[int(0.99 * (len(ordered) - 1))], 2),
    }


def db_bytes(db: str) -> int:
    """Bytes the checkpoint database's tables hold (SQLite: pages in use; PostgreSQL: the tables and their
    indexes once vacuumed)."""
    if db.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(db, autocommit=True) as conn:
            conn.execute("VACUUM FULL")  # rows deleted by compaction are space autovacuum reuses, not growth
            row = conn.execute(
                "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c JOIN pg_namespace n ON n.oid = "
                "c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname LIKE 'checkpoint%'"
            ).fetchone()
            return int(row[0] if row and row[0] else 0)
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        pages = conn.execute("PRAGMA page_count").fetchone()[0] - conn.execute("PRAGMA freelist_count").fetchone()[0]
        return int(pages * conn.execute("PRAGMA page_size").fetchone()[0])


async def _served(
    model_url: str, db: str, route: str, workers: int, home: Path, profile: Path | None = None
) -> dict[str, Any]:
    port = free_port()
    env = cli_env(home, SPRI_MODEL="openai:fake", OPENAI_API_KEY="bench", OPENAI_BASE_URL=model_url, SPRI_SERVE_DB=db)
    env["SPRI_API_KEY"] = KEY
    spri = ["-c", PROFILED, str(profile)] if profile else ["-m", "spri.cli"]
    command = [sys.executable, *spri, "serve", "--port", str(port), "--workers", str(workers)]
    server = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(url + "/health", server, timeout=START_TIMEOUT)
        await _load(url, route, 2 * workers, "warm")  # imports and first connections, not counted
        empty = db_bytes(db)
        process = psutil.Process(server.pid)
        cpu = tree_cpu(process)
        measured = await _load(url, route, REQUESTS, "run")
        spent = tree_cpu(process) - cpu
        measured["cpu_ms_per_call"] = round(1000 * spent / (REQUESTS * CALLS_PER_RUN), 2)
        measured["bytes_per_run"] = round((db_bytes(db) - empty) / REQUESTS)
        return measured
    finally:
        server.terminate()
        server.wait(60)


async def _batch(model_url: str, folder: Path) -> float:
    from spri.batch import run_batch

    source = write_items(folder, REQUESTS)
    cpu = cpu_seconds()
    summary = await run_batch(
        source, str(folder / "out.jsonl"), id_field="id", concurrency=IN_FLIGHT, progress=False, model="openai:fake"
    )
    assert summary["done"] == REQUESTS and summary["calls"] == CALLS_PER_RUN * REQUESTS, summary
    return round(1000 * (cpu_seconds() - cpu) / summary["calls"], 2)


async def _kept_whole(db: str, runs: int = 20) -> int:
    """Bytes per run when every checkpoint of a finished run is kept (as before compaction)."""
    import inspect

    from spri.api import arun, astream

    if "compact" not in inspect.signature(astream).parameters:  # code from before compaction: all kept
        return 0
    empty = db_bytes(db) if Path(db).exists() else 0
    for i in range(runs):
        await arun(f"Q{i}?", model="openai:fake", checkpointer=db, thread_id=f"whole-{i}", compact=False)
    return round((db_bytes(db) - empty) / runs)


async def measure() -> dict[str, Any]:
    results: dict[str, Any] = {"served": {}}
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        folder = Path(tmp)
        model_url = stack.enter_context(fake_endpoint(LATENCY))
        results["batch_cpu_ms_per_call"] = await _batch(model_url, folder)

        def make_sqlite(name: str) -> str:
            return str(folder / f"{name}.sqlite")

        databases = {"SQLite": make_sqlite}
        pg = _postgres(stack)
        if pg:
            databases["PostgreSQL"] = lambda name: _fresh_pg(pg, name)
        for label, make in databases.items():
            for route in ("invoke", "stream"):
                await _record(results, f"{label} {route}, 1 worker", _served(model_url, make(route), route, 1, folder))
        await _record(
            results, "SQLite invoke, 2 workers", _served(model_url, str(folder / "two.sqlite"), "invoke", 2, folder)
        )
        results["kept_whole_bytes_per_run"] = await _kept_whole(str(folder / "whole.sqlite"))
        stats = folder / "serve.prof"
        await _record(
            results, "SQLite invoke, profiled", _served(model_url, make_sqlite("prof"), "invoke", 1, folder, stats)
        )
        results["profile"] = dict(list(by_package(pstats.Stats(str(stats))).items())[:12]) if stats.exists() else {}
    return results


async def _record(results: dict[str, Any], name: str, served: Any) -> None:
    """One configuration's figures (printed to stderr as they come), or why it could not be measured."""
    try:
        results["served"][name] = await served
    except Exception as exc:
        first = (str(exc).splitlines() or [""])[0]  # some errors (httpx.ReadError) have no message
        results["served"][name] = {"failed": f"{type(exc).__name__}: {first}".rstrip(": ")}
    print(name, json.dumps(results["served"][name]), file=sys.stderr, flush=True)


def _postgres(stack: ExitStack) -> str | None:
    try:
        from tests.support.postgres import postgres_url

        return stack.enter_context(postgres_url())
    except Exception as exc:  # no PostgreSQL here: the SQLite rows stand alone
        print(f"PostgreSQL skipped: {exc}", file=sys.stderr)
        return None


def _fresh_pg(url: str, name: str) -> str:
    """A new database on the server of ``url`` (so its size is this configuration's alone)."""
    import psycopg

    base, _, _ = url.rpartition("/")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS bench_{name}")
        conn.execute(f"CREATE DATABASE bench_{name}")
    return f"{base}/bench_{name}"


def report(r: dict[str, Any]) -> str:
    batch = r["batch_cpu_ms_per_call"]
    lines = [
        "## P11 — `spri serve` against `spri batch`: CPU per model call, load, bytes per run",
        "",
        f"Fake endpoint in another process, {LATENCY} s per call, critic accepting at once ({CALLS_PER_RUN} calls, "
        f"a floor of {RUN_FLOOR:.1f} s per run); {REQUESTS} runs with {IN_FLIGHT} in flight (wall floor "
        f"{WALL_FLOOR:.1f} s). `spri batch` in-process: **{batch:.2f} ms CPU per model call**. `spri serve` with "
        "auth on (SPRI_API_KEY), CPU of its processes after a warm-up; bytes per run are the checkpoint tables' "
        "growth per finished run (threads compacted to their last checkpoint).",
        "",
        "| server | CPU ms/call | x batch | wall (s) | x floor | p50 (s) | p99 (s) | p99 x run | ok | bytes/run |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, s in r["served"].items():
        if "failed" in s:
            lines.append(f"| {name} | not measured: {s['failed']} |" + " |" * 9)
            continue
        lines.append(
            f"| {name} | {s['cpu_ms_per_call']:.2f} | {s['cpu_ms_per_call'] / batch:.2f} | {s['wall_s']:.1f} | "
            f"{s['wall_s'] / WALL_FLOOR:.2f} | {s['p50_s']:.2f} | {s['p99_s']:.2f} | {s['p99_s'] / RUN_FLOOR:.2f} | "
            f"{s['ok']}/{REQUESTS} | {s['bytes_per_run']:,} |"
        )
    lines += [
        "",
        f"A finished run kept whole (every checkpoint, as before compaction): {r['kept_whole_bytes_per_run']:,} bytes "
        "in SQLite.",
        "",
        "Server CPU by package (SQLite, invoke; cProfile on the server's main thread, % of its CPU): "
        + ", ".join(f"{name} {share:.1f}" for name, share in r["profile"].items())
        + ".",
    ]
    return "\n".join(lines)


def headline(results: dict[str, Any]) -> dict[str, float]:
    """The figures to compare across commits (benchmarks/compare.py): batch's CPU ms per model call, and
    each measured server configuration's CPU ms per model call and wall time."""
    figures = {"batch CPU ms per call": results["batch_cpu_ms_per_call"]}
    for name, served in results["served"].items():
        if "failed" not in served and "profiled" not in name:
            figures[f"{name}: CPU ms per call"] = served["cpu_ms_per_call"]
            figures[f"{name}: wall s"] = served["wall_s"]
    return figures


if __name__ == "__main__":
    main(measure, report)


SECTION = "p11"
"""Which section of RESULTS.md this benchmark writes (``make bench`` finds benchmarks by it)."""
