"""P8 — speculative stage-2 drafting (``--speculate``): wall time of one interactive run with and without.

A fixed-latency OpenAI-compatible fake endpoint (a separate process on 127.0.0.1; every call takes
LATENCY seconds, whatever runs beside it) answers drafts with text and critiques with a tool call of a
fixed score. Runs go one at a time, alternating with and without speculation, REPEATS each:

- critic accepting at once (score 5): 4 calls in sequence without speculation; with it, the response
  is drafted while the principles are judged, so 3 latencies: expected ratio ~3/4;
- critic never accepting (score 2, max_rounds 4): 16 calls in sequence; with speculation each of the
  4 principles critiques has a speculation beside it, 3 of them discarded (cancelled when the critic
  asks for a refinement) and the last one used at max_rounds: 15 latencies, 3 wasted calls.
"""

from __future__ import annotations

import time
from typing import Any

from harness import fake_endpoint, listed, main, repeats, spread

from spri import arun

LATENCY = 0.25
REPEATS = repeats(5)
CASES = {"critic accepting at once": 5, "critic never accepting": 2}


async def _timed(model: str, speculate: bool) -> dict[str, Any]:
    start = time.perf_counter()
    result = await arun("How do I keep basil alive on a windowsill?", model=model, speculate=speculate)
    wall = time.perf_counter() - start
    return {"wall": wall, "calls": result.calls, "wasted": result.speculative_wasted}


async def _case(score: int) -> dict[str, Any]:
    model = f"openai:fake-{score}"  # a model of its own per endpoint (models are built once per spec)
    with fake_endpoint(LATENCY, score):
        await _timed(model, False)  # warm-up: connections, imports, the compiled graph
        runs: dict[bool, list[dict[str, Any]]] = {False: [], True: []}
        for _ in range(REPEATS):
            for speculate in (False, True):
                runs[speculate].append(await _timed(model, speculate))
    row: dict[str, Any] = {}
    for speculate, name in ((False, "off"), (True, "on")):
        walls = spread([r["wall"] for r in runs[speculate]], 3)
        row[name] = {
            "wall_s": walls["median"],
            "walls": walls["runs"],
            "calls": sorted({r["calls"] for r in runs[speculate]}),
            "wasted": sorted({r["wasted"] for r in runs[speculate]}),
        }
    row["ratio"] = round(row["on"]["wall_s"] / row["off"]["wall_s"], 3)
    return row


async def measure() -> dict[str, Any]:
    return {name: await _case(score) for name, score in CASES.items()}


def report(results: dict[str, Any]) -> str:
    lines = [
        "## P8 — speculative stage-2 drafting",
        "",
        f"One `arun` at a time over HTTP to a fake OpenAI-compatible endpoint in another process, {LATENCY} s "
        f"per call, default settings (min_score 4, max_rounds 4), with and without `speculate`, alternating, "
        f"{REPEATS} runs each (median; all runs listed).",
        "",
        "| critic | without: wall (s) | calls | with: wall (s) | calls | wasted calls | ratio with/without |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, row in results.items():
        off, on = row["off"], row["on"]
        lines.append(
            f"| {name} | {off['wall_s']} ({listed(off['walls'], 3)}) | {'/'.join(map(str, off['calls']))} "
            f"| {on['wall_s']} ({listed(on['walls'], 3)}) | {'/'.join(map(str, on['calls']))} "
            f"| {'/'.join(map(str, on['wasted']))} | {row['ratio']} |"
        )
    accepting = results["critic accepting at once"]["ratio"]
    strict = results["critic never accepting"]
    lines += [
        "",
        f"Accepting at once, speculation takes one latency off the critical path: {accepting:.2f} of the time "
        "(3 latencies of 4). Never accepting, each rejected principles draft costs one wasted base-model call "
        f"({'/'.join(map(str, strict['on']['wasted']))} per run, counted in `calls` and `speculative_wasted`), "
        "cancelled as soon as the critic asks for a refinement; the speculation from the last draft is used at "
        f"max_rounds, so the run still saves one latency ({strict['ratio']:.2f}). With an endpoint that bills or "
        "queues every request (a batch against a strict critic), the wasted calls are the cost.",
    ]
    return "\n".join(lines)


def headline(results: dict[str, Any]) -> dict[str, float]:
    """The figures to compare across commits: each case's wall time with speculation (s), and its ratio
    to the time without."""
    figures = {}
    for name, row in results.items():
        figures[f"{name}: wall with speculation (s)"] = row["on"]["wall_s"]
        figures[f"{name}: ratio with/without"] = row["ratio"]
    return figures


if __name__ == "__main__":
    main(measure, report)


SECTION = "p8"
"""Which section of RESULTS.md this benchmark writes (``make bench`` finds benchmarks by it)."""
