"""P5 — call accounting: the calls and tokens a result reports are the calls and tokens the models saw.

The embedded model runs SPRI (2 rounds at most per stage); a LangChain callback handler, independent of
SPRI's own bookkeeping, counts every chat-model call and sums the token usage llama.cpp reported.
The result's totals and per-stage counts must match, and per stage, calls = drafts + critiques (the
grammar keeps the critic's format, so no reminder calls). Exact counts on every path are unit-tested
(`tests/unit/nodes/test_loop.py`, `test_profiles.py`, `test_accounting.py`).
"""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import AsyncCallbackHandler

QUERY = "How do I prepare for a long bike ride?"


class Counter(AsyncCallbackHandler):
    def __init__(self) -> None:
        self.calls = 0
        self.input_tokens = 0
        self.output_tokens = 0

    async def on_llm_end(self, response: Any, **kwargs: Any) -> None:
        self.calls += 1
        for generations in response.generations:
            for generation in generations:
                usage = getattr(generation.message, "usage_metadata", None) or {}
                self.input_tokens += usage.get("input_tokens", 0)
                self.output_tokens += usage.get("output_tokens", 0)


async def measure() -> dict[str, Any]:
    from spri import arun

    counter = Counter()
    result = await arun(QUERY, model="local", max_tokens=96, max_rounds=2, parent_config={"callbacks": [counter]})
    per_stage = {
        stage: (result.calls_per_stage[stage], len(result.drafts[stage]) + len(result.critiques.get(stage, [])))
        for stage in result.calls_per_stage
    }
    return {
        "reported_calls": result.calls,
        "seen_calls": counter.calls,
        "reported_tokens": (result.tokens["input"], result.tokens["output"]),
        "seen_tokens": (counter.input_tokens, counter.output_tokens),
        "per_stage": per_stage,
        "rounds": result.rounds,
    }


def report(r: dict[str, Any]) -> str:
    rows = [
        f"| {stage} | {r['rounds'][stage]} | {reported} | {expected} | {'yes' if reported == expected else 'NO'} |"
        for stage, (reported, expected) in r["per_stage"].items()
    ]
    return "\n".join(
        [
            "## P5 — call accounting",
            "",
            "The embedded model runs one SPRI query (at most 2 critiques per stage); an independent callback "
            "handler counts the calls and sums llama.cpp's token usage.",
            "",
            "| | calls | input tokens | output tokens |",
            "|---|---|---|---|",
            "| reported in the result | {} | {} | {} |".format(r["reported_calls"], *r["reported_tokens"]),
            "| seen by the callback handler | {} | {} | {} |".format(r["seen_calls"], *r["seen_tokens"]),
            "",
            "| stage | critiques | calls reported | drafts + critiques | match |",
            "|---|---|---|---|---|",
            *rows,
            "",
            "`spri ask --json` prints `calls`, `tokens`, `calls_per_stage` and `tokens_per_stage`; the `spri batch` "
            "summary and progress line report calls and tokens.",
        ]
    )


SECTION = "p5"
"""Which section of RESULTS.md this benchmark writes (``make bench`` finds benchmarks by it)."""
