"""P6 — `spri serve` under 200 concurrent requests.

A real `spri serve` process (SQLite checkpoints, sync durability) in front of a fake OpenAI-compatible
server (another process, 20 ms per call, critic accepting at once: 4 calls per request), both on
127.0.0.1. 200 invoke requests are sent at once; every one must succeed. Reported: latency p50/p99 and
throughput.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from harness import fake_endpoint, main, spri_server

REQUESTS, LATENCY = 200, 0.020


async def measure() -> dict[str, Any]:
    with (
        tempfile.TemporaryDirectory() as tmp,
        fake_endpoint(LATENCY) as model_url,
        spri_server(Path(tmp), model_url) as (url, _),
    ):
        latencies: list[float] = []
        async with httpx.AsyncClient(timeout=300, limits=httpx.Limits(max_connections=REQUESTS)) as client:

            async def one(i: int) -> int:
                start = time.perf_counter()
                response = await client.post(
                    url + "/spri/invoke", json={"input": {"query": f"Q{i}?"}}, headers={"X-Thread-Id": f"bench-{i}"}
                )
                latencies.append(time.perf_counter() - start)
                return response.status_code

            began = time.perf_counter()
            statuses = await asyncio.gather(*(one(i) for i in range(REQUESTS)))
            wall = time.perf_counter() - began
    ordered = sorted(latencies)
    return {
        "ok": statuses.count(200),
        "errors": REQUESTS - statuses.count(200),
        "p50_s": statistics.median(ordered),
        "p99_s": ordered[int(0.99 * (len(ordered) - 1))],
        "wall_s": wall,
        "rps": REQUESTS / wall,
    }


def report(r: dict[str, Any]) -> str:
    return "\n".join(
        [
            "## P6 — server under 200 concurrent requests",
            "",
            f"`spri serve` (one process, SQLite, sync durability), fake model at {LATENCY * 1000:.0f} ms per call "
            f"(4 calls per request); {REQUESTS} invoke requests at once over loopback.",
            "",
            "| requests | succeeded | errors | p50 latency (s) | p99 latency (s) | wall (s) | requests/s |",
            "|---|---|---|---|---|---|---|",
            f"| {REQUESTS} | {r['ok']} | {r['errors']} | {r['p50_s']:.2f} | {r['p99_s']:.2f} | {r['wall_s']:.2f} | "
            f"{r['rps']:.1f} |",
            "",
            "All requests are in flight at once, so latency is dominated by queueing behind the others on one "
            "process (2 cores, checkpoint writes serialised on one SQLite connection); run several `spri serve` "
            "processes against PostgreSQL to scale out.",
        ]
    )


if __name__ == "__main__":
    main(measure, report)


SECTION = "p6"
"""Which section of RESULTS.md this benchmark writes (``make bench`` finds benchmarks by it)."""
