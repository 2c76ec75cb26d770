"""P12 — server CPU per request: the OpenAI-compatible route beside the LangServe route.

A real `spri serve` process (SQLite checkpoints, sync durability) in front of the fake OpenAI-compatible
endpoint (another process, answering at once; the critic accepts at once: 4 model calls per request).
Requests go one at a time, so the server's CPU time (user + system, read from /proc) over a block of
REQUESTS requests, divided by REQUESTS, is what one request costs it. Each round measures a block on
``POST /spri/invoke`` and then a block on ``POST /v1/chat/completions`` (non-streaming), after a warm-up
block on each; reported: the median per route and every round, and the ratio of the medians.
"""

from __future__ import annotations

import os
import statistics
import tempfile
from pathlib import Path
from typing import Any

import httpx
from harness import fake_endpoint, listed, main, repeats, spri_server

REQUESTS, ROUNDS = 20, repeats(5)
ROUTES = {
    "/spri/invoke": lambda i: {"input": {"query": f"Question {i}?"}},
    "/v1/chat/completions": lambda i: {"model": "spri", "messages": [{"role": "user", "content": f"Question {i}?"}]},
}


def process_cpu_seconds(pid: int) -> float:
    """CPU time (user + system) the process ``pid`` has used so far (Linux's /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def block(client: httpx.Client, url: str, route: str, pid: int, start: int) -> float:
    """Milliseconds of server CPU per request over REQUESTS requests on ``route``."""
    before = process_cpu_seconds(pid)
    for i in range(start, start + REQUESTS):
        response = client.post(url + route, json=ROUTES[route](i))
        assert response.status_code == 200, response.text
    return (process_cpu_seconds(pid) - before) * 1000 / REQUESTS


async def measure() -> dict[str, Any]:
    runs: dict[str, list[float]] = {route: [] for route in ROUTES}
    with (
        tempfile.TemporaryDirectory() as tmp,
        fake_endpoint(0.0) as model_url,
        spri_server(Path(tmp), model_url) as (url, server),
        httpx.Client(timeout=120) as client,
    ):
        sent = 0
        for round_ in range(ROUNDS + 1):  # the first round warms up
            for route in ROUTES:
                ms = block(client, url, route, server.pid, sent)
                sent += REQUESTS
                if round_:
                    runs[route].append(round(ms, 2))
    medians = {route: statistics.median(values) for route, values in runs.items()}
    return {"runs": runs, "medians": medians, "ratio": medians["/v1/chat/completions"] / medians["/spri/invoke"]}


def headline(results: dict[str, Any]) -> dict[str, float]:
    return {"openai_ms": results["medians"]["/v1/chat/completions"], "invoke_ms": results["medians"]["/spri/invoke"]}


def report(r: dict[str, Any]) -> str:
    rows = [f"| `POST {route}` | {r['medians'][route]:.1f} | {listed(runs, 1)} |" for route, runs in r["runs"].items()]
    return "\n".join(
        [
            "## P12 — server CPU per request: OpenAI-compatible route beside LangServe's",
            "",
            "`spri serve` (one process, SQLite, sync durability) in front of a fake endpoint answering at once "
            f"(4 model calls per request, the critic accepting at once); requests one at a time, blocks of "
            f"{REQUESTS} per route in turn, {ROUNDS} rounds after a warm-up. Server CPU (user + system) per "
            "request, in ms.",
            "",
            "| route | median ms | every round |",
            "|---|---|---|",
            *rows,
            "",
            f"The OpenAI-compatible route costs {r['ratio']:.2f}× the LangServe route's CPU per request "
            "(both run the same SPRI service; the difference is the request and answer handling).",
        ]
    )


if __name__ == "__main__":
    main(measure, report)


SECTION = "p12"
"""Which section of RESULTS.md this benchmark writes (``make bench`` finds benchmarks by it)."""
