"""P3 — the embedded model: `spri ask` end to end, and the wrapper's speed against llama-cpp-python.

(a) `spri ask QUERY --json` with all defaults (SmolLM2-135M Q4_1, 2 threads, max_tokens 512, up to 4
critiques per stage) as a fresh process, several times: median wall time, target <= 60 s.
(b) Generation speed of our LangChain wrapper vs calling `llama_cpp.Llama.create_chat_completion`
directly, same prompts and sampling settings, each call from an empty KV cache: completion tokens per
second, target >= 0.9x. (c) The weights load once per process: contexts created vs calls made.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
QUERY = "How can I get better sleep when I work night shifts?"
RUNS = 3
PROMPTS = [
    "Write three principles for answering: how do I learn to cook on a budget?",
    "Explain in a short paragraph why the sky looks blue.",
    "Give advice to someone nervous about their first job interview.",
    "Describe a simple weekly exercise plan for a beginner.",
]
MAX_TOKENS = 128


def _ask() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "HOME": home, "XDG_DATA_HOME": home, "LANGSMITH_TRACING": "false"}
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "spri.cli", "ask", QUERY, "--json", "-q"],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(done.stderr)
    result = json.loads(done.stdout)
    return {"wall": wall, "calls": result["calls"], "tokens": result["tokens"]["total"]}


def _speed() -> dict[str, float]:
    import llama_cpp
    from langchain_core.messages import HumanMessage

    from spri.models.embedded.chat_model import LocalChatModel, default_model_path

    wrapper = LocalChatModel(max_tokens=MAX_TOKENS)
    wrapped_llm = wrapper.load("bench")
    direct = llama_cpp.Llama(
        model_path=default_model_path(), n_ctx=4096, n_batch=256, n_threads=2, n_threads_batch=2, verbose=False
    )
    totals = {"wrapper": [0, 0.0], "direct": [0, 0.0]}
    for _ in range(2):
        for prompt in PROMPTS:
            wrapped_llm.reset()
            start = time.perf_counter()
            message = wrapper.invoke([HumanMessage(prompt)], slot="bench")
            totals["wrapper"][0] += message.usage_metadata["output_tokens"]
            totals["wrapper"][1] += time.perf_counter() - start
            direct.reset()
            start = time.perf_counter()
            out = direct.create_chat_completion(
                messages=[{"role": "user", "content": prompt}],
                max_tokens=MAX_TOKENS,
                temperature=wrapper.temperature,
                repeat_penalty=wrapper.repeat_penalty,
                seed=wrapper.seed,
            )
            totals["direct"][0] += out["usage"]["completion_tokens"]
            totals["direct"][1] += time.perf_counter() - start
    direct.close()
    return {name: tokens / seconds for name, (tokens, seconds) in totals.items()}


async def measure() -> dict[str, Any]:
    runs = [_ask() for _ in range(RUNS)]
    speed = _speed()
    from spri import arun
    from spri.models.embedded.chat_model import _LOADED

    before = len(_LOADED)
    result = await arun(QUERY, model="local", max_tokens=64, max_rounds=2)
    return {
        "walls": [r["wall"] for r in runs],
        "calls": [r["calls"] for r in runs],
        "median_wall": statistics.median(r["wall"] for r in runs),
        "wrapper_tps": speed["wrapper"],
        "direct_tps": speed["direct"],
        "contexts_created": len(_LOADED) - before,
        "calls_made": result.calls,
    }


def report(r: dict[str, Any]) -> str:
    ratio = r["wrapper_tps"] / r["direct_tps"]
    walls = ", ".join(f"{w:.1f}" for w in r["walls"])
    return "\n".join(
        [
            "## P3 — embedded model",
            "",
            f'(a) `spri ask "{QUERY}" --json` with every default (SmolLM2-135M Q4_1, 2 threads, max_tokens 512, '
            f"up to 4 critiques per stage), a fresh process each time (model load included).",
            "",
            "| runs | wall times (s) | median (s) | model calls per run | target | meets |",
            "|---|---|---|---|---|---|",
            f"| {len(r['walls'])} | {walls} | {r['median_wall']:.1f} | {', '.join(map(str, r['calls']))} | <= 60 s | "
            f"{'yes' if r['median_wall'] <= 60 else 'NO'} |",
            "",
            f"(b) Completion tokens per second over {len(PROMPTS)} prompts x 2, max_tokens {MAX_TOKENS}, each call "
            "from an empty KV cache, same sampling settings:",
            "",
            "| path | tokens/s | ratio | target | meets |",
            "|---|---|---|---|---|",
            f"| llama-cpp-python `create_chat_completion` | {r['direct_tps']:.1f} | 1.00 | - | - |",
            f"| SPRI's `LocalChatModel` (LangChain) | {r['wrapper_tps']:.1f} | {ratio:.2f} | >= 0.9x | "
            f"{'yes' if ratio >= 0.9 else 'NO'} |",
            "",
            f"(c) One `arun` made {r['calls_made']} model calls and created {r['contexts_created']} llama.cpp "
            "contexts (one per role and stage, each keeping its KV cache; weights memory-mapped once); later runs "
            "in the process create none.",
        ]
    )


SECTION = "p3"
"""Which section of RESULTS.md this benchmark writes (``make bench`` finds benchmarks by it)."""
