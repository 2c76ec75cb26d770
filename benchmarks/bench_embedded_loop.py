"""P10 — the embedded model's loop (issue 16): is it alive, clean and fast enough with every default?

(a) `spri ask QUERY --json -q` with every default, a fresh process per query (model load included), on
the 10 held-out queries of tests/data/embedded_labelled.jsonl: wall time and CPU-seconds of the process
(user + system; on a shared machine wall time depends on the other load, CPU-seconds much less), model
calls, scores per stage and round, why each stage stopped, and cleanliness of the final output: items
in the principles, near-duplicate item pairs (word Jaccard >= 0.6), whether every item and the response
end at a sentence end, duplicated response sentences, meta text, and copy overlap (the share of the
response's word 5-grams found in the principles).
(b) Ranking on the labelled pairs, in process: the critic on the 12 clear response pairs (with their
principles) and the 8 principle pairs, and the judge without principles (`--profile rubric --method
vanilla`'s reading) on the 12 clear response pairs: pairs where the good draft scores strictly higher.
Targets (issue 16): median `spri ask` <= 45 s on 2 cores; >= 7/8 clear pairs ranked; some stages accepted.
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
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
LABELLED = ROOT / "tests" / "data" / "embedded_labelled.jsonl"
SECTION = "p10"
TARGET_SECONDS = 45.0


def _rows() -> list[dict[str, Any]]:
    return [json.loads(line) for line in LABELLED.read_text(encoding="utf-8").splitlines() if line.strip()]


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


def cleanliness(principles: str, response: str) -> dict[str, Any]:
    from spri.models.embedded.text import META, ends_sentence, items, near_duplicates, sentences, share_in

    listed = items(principles)
    said = [s.lower() for s in sentences(response)]
    return {
        "items": len(listed),
        "near_dup_pairs": near_duplicates(listed),
        "items_end": all(ends_sentence(i) for i in listed),
        "response_ends": ends_sentence(response),
        "dup_sentences": len(said) - len(set(said)),
        "meta": bool(META.search(response)),
        "copy5": share_in(response, principles, 5),
    }


def _ranking() -> dict[str, tuple[int, int]]:
    from spri.models.embedded.chat_model import LocalChatModel
    from spri.models.embedded.subject import Subject

    model, rows = LocalChatModel(), _rows()

    def score(subject: Subject, slot: str) -> int:
        critique, _ = model.read_verdict(subject, slot)
        return critique.score or 0

    def ranked(kind: str, chosen: list[dict[str, Any]]) -> tuple[int, int]:
        wins = 0
        for r in chosen:
            request, scores = f"Request:\n{r['query']}", []
            for which in ("good", "bad"):
                if kind == "judge":
                    subject = Subject("response", request, query=r["query"], judged=r[which])
                elif kind == "principles":
                    subject = Subject("principles", request, query=r["query"], draft=r[which])
                else:
                    subject = Subject("response", request, query=r["query"], principles=r["principles"], draft=r[which])
                scores.append(score(subject, f"bench:{kind}"))
            wins += scores[0] > scores[1]
        return wins, len(chosen)

    clear = [r for r in rows if r["stage"] == "response" and r["difficulty"] == "clear"]
    subtle = [r for r in rows if r["stage"] == "response" and r["difficulty"] == "subtle"]
    return {
        "critic, clear response pairs": ranked("critic", clear),
        "critic, subtle response pairs": ranked("critic", subtle),
        "critic, principle pairs": ranked("principles", [r for r in rows if r["stage"] == "principles"]),
        "judge without principles, clear response pairs": ranked("judge", clear),
    }


async def measure() -> dict[str, Any]:
    queries = [r["query"] for r in _rows() if r["stage"] == "heldout"]
    runs = []
    for query in queries:
        runs.append(await asyncio.to_thread(_ask, query))
        print(f"  {runs[-1]['wall']:.1f} s wall, {runs[-1]['cpu']:.1f} CPU-s: {query}", file=sys.stderr, flush=True)
    ranking = await asyncio.to_thread(_ranking)
    return {"runs": runs, "ranking": ranking}


def _stage_rows(runs: list[dict[str, Any]]) -> list[str]:
    lines = ["| stage | accepted | mean rounds | scores over all rounds (histogram) |", "|---|---|---|---|"]
    for stage in ("principles", "response"):
        stops = [r["result"]["stop_reason"].get(stage) for r in runs]
        rounds = [r["result"]["rounds"].get(stage, 0) for r in runs]
        scores = Counter(c["score"] for r in runs for c in r["result"]["critiques"].get(stage, []))
        histogram = ", ".join(f"{k}: {scores[k]}" for k in sorted(scores, key=lambda s: (s is None, s)))
        accepted = sum(s == "accepted" for s in stops)
        lines.append(f"| {stage} | {accepted}/{len(runs)} | {statistics.mean(rounds):.1f} | {histogram} |")
    return lines


def _run_rows(runs: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| query | wall (s) | CPU-s | load | calls | principle scores | response scores | items | dup pairs | ends "
        "| copy5 |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        res = r["result"]
        clean = cleanliness(res["principles"] or "", res["response"] or "")
        scores = {s: [c["score"] for c in res["critiques"].get(s, [])] for s in ("principles", "response")}
        ends = "yes" if clean["items_end"] and clean["response_ends"] else "no"
        lines.append(
            f"| {r['query']} | {r['wall']:.1f} | {r['cpu']:.1f} | {r['load']:.1f} | {res['calls']} | "
            f"{scores['principles']} | {scores['response']} | {clean['items']} | {clean['near_dup_pairs']} | "
            f"{ends} | {clean['copy5']:.3f} |"
        )
    return lines


def report(results: dict[str, Any]) -> str:
    runs = results["runs"]
    walls, cpus = [r["wall"] for r in runs], [r["cpu"] for r in runs]
    cleans = [cleanliness(r["result"]["principles"] or "", r["result"]["response"] or "") for r in runs]
    wall, cpu = statistics.median(walls), statistics.median(cpus)
    loads = [r["load"] for r in runs]
    ranking = "; ".join(f"{name}: {wins}/{total}" for name, (wins, total) in results["ranking"].items())
    lines = [
        "## P10 — embedded model: the live loop (issue 16)",
        "",
        f"(a) `spri ask QUERY --json -q` with every default, a fresh process per query, {len(runs)} held-out "
        "queries (tests/data/embedded_labelled.jsonl). The machine is shared: the load average at the start "
        "of each run is given, and CPU-seconds of the process (user + system) are the comparable figure; on 2 "
        "free cores, wall time is about CPU-seconds / 2 or less.",
        "",
        *_run_rows(runs),
        "",
        f"Median wall time {wall:.1f} s (target <= {TARGET_SECONDS:.0f} s: "
        f"{'met' if wall <= TARGET_SECONDS else 'not met'} on this machine); median {cpu:.1f} CPU-s "
        f"(about {cpu / 2:.0f} s on 2 free cores); median "
        f"{statistics.median(r['result']['calls'] for r in runs):.0f} model calls. The load average was "
        f"{min(loads):.1f}-{max(loads):.1f} on 2 cores during these runs, so wall times here say little.",
        "",
        *_stage_rows(runs),
        "",
        "Cleanliness of the final outputs: principles with 3-6 items "
        f"{sum(3 <= c['items'] <= 6 for c in cleans)}/{len(runs)}; "
        f"near-duplicate item pairs {sum(c['near_dup_pairs'] for c in cleans)}; every item and the response end at a "
        f"sentence end {sum(c['items_end'] and c['response_ends'] for c in cleans)}/{len(runs)}; duplicated response "
        f"sentences {sum(c['dup_sentences'] for c in cleans)}; meta text {sum(c['meta'] for c in cleans)}/{len(runs)}; "
        f"copy overlap (response 5-grams in the principles) max {max(c['copy5'] for c in cleans):.3f}.",
        "",
        f"(b) Ranking, pairs where the good draft scores strictly higher on the integer score: {ranking}.",
    ]
    return "\n".join(lines)
