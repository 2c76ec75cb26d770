"""P9 — framework CPU per model call: `spri batch` over HTTP against an endpoint with no latency.

The fake OpenAI-compatible endpoint runs in another process and answers at once, so everything this
process spends is the framework's: LangGraph, langchain-core and langchain-openai, the openai client,
httpx/httpcore, the event loop, and SPRI's nodes, prompts, parsing and output file. ITEMS items at
concurrency CONCURRENCY (4 calls each; the critic accepts at once) on a fresh event loop of each kind,
the one `spri batch` runs on (uvloop's where installed, spri.cli.event_loop) and asyncio's own: a
warm-up batch on each, then REPEATS rounds of one batch on each in turn. CPU time (user + system) of
this process per model call, median and every run. Target: <= 5 ms.

Then one more batch on `spri batch`'s loop under cProfile, timed by that thread's CPU clock, grouped
by package (time in C builtins counted to the package that called them).

BEFORE is this benchmark run on the code before the CPU per call was trimmed (commit f4d4504, which has asyncio's loop
only): ``git archive f4d4504 | tar -x -C /tmp/before``, copy this file into /tmp/before/benchmarks,
and run ``measure`` there with SPRI's venv (the copy's ``spri`` comes first on sys.path).
"""

from __future__ import annotations

import asyncio
import cProfile
import pstats
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness import ROOT, cpu_seconds, fake_endpoint, main, repeats, write_items

from spri.batch import run_batch

ITEMS, CONCURRENCY, REPEATS = 200, 32, repeats(7)
TARGET_MS = 5.0
BEFORE: dict[str, Any] = {
    "commit": "f4d4504",
    "median": 6.20,
    "runs": [5.6, 6.61, 6.2, 6.5, 6.81, 7.51, 5.94, 5.6, 5.42],
    "shares": {
        "langgraph": 14.2,
        "openai (SDK)": 14.2,
        "typing (stdlib, mostly the openai SDK's request transform)": 12.1,
        "httpcore2": 9.2,
        "httpx2": 8.9,
        "asyncio": 8.0,
        "anyio": 5.4,
        "langchain_core": 4.8,
        "h11": 3.9,
        "builtins": 2.4,
        "pydantic": 2.1,
        "spri (ours)": 1.7,
        "contextlib": 1.4,
        "inspect": 1.3,
        "langchain_openai": 1.1,
    },
}
"""This benchmark on the code before the trim (asyncio's loop; see the module), measured 2026-11-28 in
three rounds interleaved with the code of commit e1d8095 (3 batches per round each, ``INTERLEAVED``)."""
INTERLEAVED = {
    "before the trim (f4d4504), asyncio": BEFORE["runs"],
    "e1d8095, asyncio": [4.46, 4.64, 4.04, 5.33, 4.5, 4.31, 3.85, 3.76, 5.18],
    "e1d8095, uvloop (`spri batch`'s)": [4.65, 3.93, 3.79, 4.08, 3.99, 4.24, 4.26, 4.09, 4.22],
}
"""CPU ms per call, side by side: the three taken in turn, three rounds, so load on the shared machine
falls on each alike (2026-11-28)."""
RENAMED = {"openai": "openai (SDK)", "typing": "typing (stdlib, mostly the openai SDK's request transform)"}


CHANGES = [
    "What the trim changed (each with tests that it behaves as the library path it replaces):",
    "",
    "- `openai:NAME` requests made of plain JSON are posted as they are through the SDK client's `post` "
    "(same URL, headers, timeouts, retries with `Retry-After`, errors) and replies parsed straight to the dict "
    "langchain-openai reads: the SDK's typed request transform and `ChatCompletion` model are skipped "
    "(`spri.models.openai_http`; the `openai (SDK)` and `typing` rows).",
    "- Those replies become chat results on the event loop: `ChatOpenAI` hands each to a worker thread, and "
    "the hand-off and the GIL turns cost more than the work (`spri.models.openai_chat`).",
    "- The connection pool checks whether idle connections were closed by the socket each connection kept, "
    "not by anyio's whole socket-attribute table rebuilt per check, for every idle connection each time a "
    "request joins or leaves the pool (`spri.models.http_client`; the `anyio` and `httpcore2` rows).",
    "- `spri batch` runs on uvloop's event loop where it is installed (`spri.cli.event_loop`, "
    "`SPRI_UVLOOP=0` for asyncio's).",
    "",
    "Kept as they were (tests): retries (429 `Retry-After`, 5xx, timeouts), the output file's fsync per item, "
    "accounting, the model-call cache and its keys, and LangSmith tracing when it is on. What "
    "is left is mostly LangGraph's per-step machinery (tasks, channels, configs and callbacks for 6 nodes and "
    "5 routers per item), the HTTP stack (httpx, httpcore, h11, anyio: building, sending and reading each "
    "request, including the openai client's request building, which happens mostly in httpx). SPRI's own "
    "share (nodes, prompts, parsing, the output file and its fsync, the batch's one garbage collection, "
    "and the request and reply handling taken over from the openai SDK above) is in the `spri (ours)` row.",
]


async def _batch(source: str, folder: Path) -> float:
    """CPU milliseconds per model call of one batch."""
    out = folder / f"out-{time.monotonic_ns()}.jsonl"
    cpu = cpu_seconds()
    summary = await run_batch(source, out, id_field="id", concurrency=CONCURRENCY, progress=False, model="openai:fake")
    assert summary["done"] == ITEMS and summary["calls"] == 4 * ITEMS, summary
    return 1000 * (cpu_seconds() - cpu) / summary["calls"]


def package(filename: str) -> str | None:
    """The package a profiled function belongs to (None for C builtins)."""
    if filename.startswith(("~", "<")):
        return None
    if "site-packages/" in filename:
        return filename.split("site-packages/")[1].split("/")[0].removesuffix(".py")
    if filename.startswith(str(ROOT)):
        return "spri (ours)"
    parent = Path(filename).parent.name
    return "asyncio" if parent == "asyncio" else Path(filename).stem


def by_package(profile: cProfile.Profile | pstats.Stats) -> dict[str, float]:
    """Percent of profiled CPU per package; a builtin's time goes to its callers' packages."""
    spent: dict[str, float] = defaultdict(float)
    stats = (profile if isinstance(profile, pstats.Stats) else pstats.Stats(profile)).stats  # type: ignore[attr-defined]
    for (filename, _, _), (_, _, own, _, callers) in stats.items():
        owner = package(filename)
        if owner is not None or not callers:
            spent[RENAMED.get(owner or "builtins", owner or "builtins")] += own
            continue
        total = sum(caller[2] for caller in callers.values()) or 1.0
        for (caller_file, _, _), caller in callers.items():
            name = package(caller_file) or "builtins"
            spent[RENAMED.get(name, name)] += own * caller[2] / total
    whole = sum(spent.values()) or 1.0
    return {name: round(100 * value / whole, 1) for name, value in sorted(spent.items(), key=lambda kv: -kv[1])}


async def _profiled(source: str, folder: Path) -> dict[str, float]:
    """One batch under cProfile, on this thread's CPU clock: the share of each package."""
    profile = cProfile.Profile(time.thread_time)
    profile.enable()
    try:
        await _batch(source, folder)
    finally:
        profile.disable()
    return by_package(profile)


def _interleaved(loops: dict[str, Any], source: str, folder: Path) -> dict[str, Any]:
    """On one fresh event loop of each kind (kept between batches, as a batch keeps its loop): a warm-up
    batch each (connections, the compiled graph, models for the loop), then REPEATS rounds of one batch
    on each loop in turn, so other load on the machine falls on each alike; then one profiled batch on
    the first loop."""
    runners = {name: asyncio.Runner(loop_factory=factory) for name, factory in loops.items()}
    try:
        for runner in runners.values():
            runner.run(_batch(source, folder))
        runs: dict[str, list[float]] = {name: [] for name in runners}
        for _ in range(REPEATS):
            for name, runner in runners.items():
                runs[name].append(runner.run(_batch(source, folder)))
        first = next(iter(runners))
        shares = runners[first].run(_profiled(source, folder))
    finally:
        for runner in runners.values():
            runner.close()
    results: dict[str, Any] = {name: {"runs": r, "median": statistics.median(r)} for name, r in runs.items()}
    results[first]["shares"] = shares
    return results


def _loops() -> dict[str, Callable[[], asyncio.AbstractEventLoop] | None]:
    """The loop `spri batch` runs on, then asyncio's own if that is another."""
    try:
        from spri.cli.event_loop import loop_factory
    except ImportError:  # the code before the trim (BEFORE) has asyncio's loop only
        return {"asyncio": None}
    factory = loop_factory()
    if factory is None:
        return {"asyncio": None}
    return {factory.__module__.split(".")[0]: factory, "asyncio": None}


async def measure() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp, fake_endpoint(0.0):
        folder = Path(tmp)
        source = write_items(folder, ITEMS)
        # in a thread of its own: fresh loops, as `spri batch` runs one on its main thread
        results = await asyncio.to_thread(_interleaved, _loops(), source, folder)
    return results


def _other_loop(results: dict[str, Any]) -> str:
    """How the same code does on asyncio's loop, if that was measured beside `spri batch`'s."""
    loops = list(results)
    if len(loops) < 2:
        return ""
    mine, other = results[loops[0]]["median"], results[loops[1]]["median"]
    return f"; on {loops[1]}'s own loop the same code spends {other:.2f} ms per call ({other / mine - 1:+.0%})"


def report(results: dict[str, Any]) -> str:
    loops = list(results)
    cli = results[loops[0]]
    median = cli["median"]
    lines = [
        "## P9 — framework CPU per model call",
        "",
        f"`spri batch` over HTTP to a fake OpenAI-compatible endpoint in another process that answers at once: "
        f"{ITEMS} items at concurrency {CONCURRENCY}, 4 calls each, on a fresh event loop of each kind: a warm-up "
        f"batch on each, then {REPEATS} rounds of one batch on each in turn. CPU time (user + system) of the "
        "batch process per model call, so the "
        f"endpoint's own CPU is not counted. Target: <= {TARGET_MS} ms. The machine's 2 cores were shared "
        "with other work, which inflates CPU time and spreads the runs: the medians are the figures.",
        "",
        f"`spri batch`'s own loop ({loops[0]}'s) gives the figure for the target{_other_loop(results)}.",
        "",
        "| code | event loop | CPU ms per call, median | all runs | meets <= 5 ms |",
        "|---|---|---|---|---|",
    ]
    if BEFORE["runs"]:
        lines.append(
            f"| before the trim ({BEFORE['commit']}) | asyncio | {BEFORE['median']:.2f} | "
            f"{', '.join(f'{r:.2f}' for r in BEFORE['runs'])} | {'yes' if BEFORE['median'] <= TARGET_MS else 'no'} |"
        )
    for name in loops:
        row = results[name]
        where = f"{name} (`spri batch`'s)" if name == loops[0] else name
        lines.append(
            f"| now | {where} | {row['median']:.2f} | {', '.join(f'{r:.2f}' for r in row['runs'])} | "
            f"{'yes' if row['median'] <= TARGET_MS else 'NO'} |"
        )
    lines += [
        "",
        f"At {median:.1f} ms per call, one batch process (its event loop is one thread: one core) drives about "
        f"{int(1000 / median)} model calls per second. Profile by package (cProfile on the batch thread's CPU "
        f"clock, one batch on {loops[0]}'s loop; a C builtin's time is counted to the package calling it; "
        "profiling inflates many small calls, "
        f"so shares, not times), now and before the trim ({BEFORE['commit']}, asyncio's loop, same profile).",
    ]
    lines += [
        "",
        "Side by side (the three in turn, three rounds of three batches, so other load falls on each alike):",
        "",
    ]
    lines += ["| code, event loop | CPU ms per call, median | all runs |", "|---|---|---|"]
    for name, runs in INTERLEAVED.items():
        lines.append(f"| {name} | {statistics.median(runs):.2f} | {', '.join(f'{r:.2f}' for r in runs)} |")
    lines += ["", "| package | share now | share before |", "|---|---|---|"]
    shares: dict[str, float] = cli["shares"]
    before: dict[str, float] = BEFORE["shares"]
    for name in dict.fromkeys([*list(shares)[:14], *list(before)[:14]]):
        was = before.get(name)
        lines.append(f"| {name} | {shares.get(name, 0.0)}% | {'-' if was is None else f'{was}%'} |")
    return "\n".join([*lines, "", *CHANGES])


def headline(results: dict[str, Any]) -> dict[str, float]:
    """The figures to compare across commits: CPU ms per model call on each event loop (median)."""
    return {f"CPU ms per call, {loop}'s loop": row["median"] for loop, row in results.items()}


if __name__ == "__main__":
    main(measure, report)


SECTION = "p9"
"""Which section of RESULTS.md this benchmark writes (``make bench`` finds benchmarks by it)."""
