"""P10 — the embedded model's loop with every default: does it catch wrong answers, copy nothing, and stay
as fast? Comparable across commits (``python benchmarks/compare.py BASE p10``).

(a) `spri ask QUERY --json -q` with every default, a fresh process per query (model load included), on
the held-out queries of tests/data/embedded_labelled.jsonl ($SPRI_BENCH_REPEATS of them, 20 by default;
round k of benchmarks/compare.py takes the k-th slice of that many, so `--rounds 4 --repetitions 5`
covers 20 queries, each run by both commits back to back): wall time and CPU-seconds of the process
(user + system), model calls, why each stage stopped, and copying in the final output: principles
repeating 6 or more words in a row of a seed example, a prompt template or a feedback sentence; a
response doing the same, copying half its principles' word 5-grams, or restating them as instructions
(spri.models.embedded.copying, this tree's, for both commits).
(b) Ranking on the held-out pairs of the same file, in process: the critic on the response pairs (with
their principles) and on the principle pairs, and the judge without principles (`--profile rubric
--method vanilla`'s reading) on the response pairs: the share of pairs where the good draft does not
score strictly higher on the integer score, and the tokens the critic reads per verdict (its cost). These
are deterministic, so a comparison reads them in its first round only.

The labelled set is read from this tree even when the code measured is another commit's: its path goes
to the measuring process in $SPRI_BENCH_LABELLED.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from harness import main, repeats, round_index

ROOT = Path(__file__).resolve().parents[1]
LABELLED_VARIABLE = "SPRI_BENCH_LABELLED"
LABELLED = Path(os.environ.setdefault(LABELLED_VARIABLE, str(ROOT / "tests" / "data" / "embedded_labelled.jsonl")))
SECTION = "p10"
QUERIES = 20


def _rows() -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in LABELLED.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r for r in rows if r["split"] == "heldout"]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _ask(query: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "HOME": home, "XDG_DATA_HOME": home, "LANGSMITH_TRACING": "false"}
        load = os.getloadavg()[0]
        cpu, start = _children_cpu(), time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "spri.cli", "ask", query, "--json", "-q"],
            env=env,
            capture_output=True,
            text=True,
            timeout=1800,
        )
        wall, cpu = time.perf_counter() - start, _children_cpu() - cpu
    if done.returncode != 0:
        raise RuntimeError(done.stderr)
    result = json.loads(done.stdout)
    return {"query": query, "wall": wall, "cpu": cpu, "load": load, "result": result}


def _ranking() -> dict[str, list[list[list[int]]]]:
    """Per reading, each held-out pair's [[good score, tokens read], [bad score, tokens read]]."""
    from embedded_verdicts import reader

    verdict, rows = reader(), _rows()
    readings = {"critic": "response", "judge": "response", "principles": "principles"}
    found: dict[str, list[list[list[int]]]] = {}
    for kind, stage in readings.items():
        found[kind] = [
            [list(verdict(kind, r["query"], r[which], r.get("principles", ""))) for which in ("good", "bad")]
            for r in rows
            if r["stage"] == stage
        ]
    return found


def queries(count: int, round_: int) -> list[str]:
    """The held-out queries a run of round ``round_`` asks: the ``round_``-th slice of ``count``."""
    found = [r["query"] for r in _rows() if r["stage"] == "query"][round_ * count : (round_ + 1) * count]
    if not found:
        raise SystemExit(f"no held-out queries left for round {round_ + 1} of {count} each")
    return found


async def measure() -> dict[str, Any]:
    round_ = round_index()
    runs = []
    for query in queries(repeats(QUERIES), round_):
        runs.append(await asyncio.to_thread(_ask, query))
        print(f"  {runs[-1]['wall']:.1f} s wall, {runs[-1]['cpu']:.1f} CPU-s: {query}", file=sys.stderr, flush=True)
    return {"runs": runs, "ranking": await asyncio.to_thread(_ranking) if round_ == 0 else {}}


def _shown_sources() -> list[str]:
    """What the embedded model is shown that a draft must not repeat: the built-in seed examples, the
    general profile's templates and the critic's feedback sentences."""
    from spri.models.embedded.critic import feedback_sentences

    nodes = ROOT / "nodes"
    seeds = [json.loads(line) for line in (nodes / "seeds" / "general.jsonl").read_text().splitlines() if line]
    texts = [text for seed in seeds for text in seed.values() if isinstance(text, str)]
    return [*texts, (nodes / "prompts" / "general.toml").read_text(encoding="utf-8"), *feedback_sentences()]


def copying(principles: str, response: str) -> dict[str, bool]:
    from spri.models.embedded.copying import copies, restates
    from spri.models.embedded.text import share_in

    shown = _shown_sources()
    restated = share_in(response, principles, 5) >= 0.5 or restates(response, principles)
    return {"principles": copies(principles, shown), "response": copies(response, shown) or restated}


def _misranked(pairs: list[list[list[int]]]) -> float:
    return sum(good[0] <= bad[0] for good, bad in pairs) / max(len(pairs), 1)


def _not_accepted(runs: list[dict[str, Any]], stage: str) -> float:
    return sum(r["result"]["stop_reason"].get(stage) != "accepted" for r in runs) / max(len(runs), 1)


def headline(results: dict[str, Any]) -> dict[str, float]:
    runs = results["runs"]
    copied = [copying(r["result"]["principles"] or "", r["result"]["response"] or "") for r in runs]
    figures = {
        "median wall (s)": statistics.median(r["wall"] for r in runs),
        "median CPU-s": statistics.median(r["cpu"] for r in runs),
        "outputs copying (share)": sum(c["principles"] or c["response"] for c in copied) / len(runs),
        "principles not accepted (share)": _not_accepted(runs, "principles"),
        "responses not accepted (share)": _not_accepted(runs, "response"),
    }
    for kind, pairs in results["ranking"].items():
        figures[f"{kind}: held-out pairs misranked (share)"] = _misranked(pairs)
        figures[f"{kind}: tokens read per verdict"] = statistics.mean(v[1] for pair in pairs for v in pair)
    return figures


def report(results: dict[str, Any]) -> str:
    runs = results["runs"]
    lines = [
        "## P10 — embedded model: the live loop",
        "",
        f"`spri ask QUERY --json -q` with every default, a fresh process per query, on {len(runs)} held-out "
        "queries, and the held-out labelled pairs (tests/data/embedded_labelled.jsonl, split 'heldout'; the "
        "critic's weights were set on the 'tuning' split). Lower is better for every figure.",
        "",
        "| figure | value |",
        "|---|---|",
        *[f"| {name} | {value:.3f} |" for name, value in headline(results).items()],
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main(measure, report)
