"""P1 — orchestration overhead: the SPRI graph vs a plain async loop making the same model calls.

Both sides send the same prompts to the same fake model (20 ms per call) under the same script: the
critic scores the first principles 3 (refine) and everything after 5, so a run is 6 calls. The plain
loop builds its messages with the same profile templates and calls the same model helpers; what it
lacks is LangGraph (state, channels, routing, checkpoints). Ratios are medians of several repetitions,
measured side by side. Targets: <= 1.05 with the in-memory saver, <= 1.10 with SQLite (sync durability).
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from langchain_core.language_models import BaseChatModel  # noqa: E402
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage  # noqa: E402
from langchain_core.outputs import ChatGeneration, ChatResult  # noqa: E402
from langgraph.checkpoint.memory import InMemorySaver  # noqa: E402
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver  # noqa: E402

from spri import arun, models  # noqa: E402
from spri.state import Context, load_profile, load_seeds, select_seeds  # noqa: E402

LATENCY = 0.020
RUNS = 25
REPEATS = 5


class ScriptModel(BaseChatModel):
    """20 ms per call; principles critique 1 scores 3, every other critique 5."""

    latency: float = LATENCY

    @property
    def _llm_type(self) -> str:
        return "script"

    def _generate(self, *args: Any, **kwargs: Any) -> ChatResult:
        raise NotImplementedError

    async def _agenerate(self, messages: list[Any], stop: Any = None, run_manager: Any = None, **kw: Any) -> ChatResult:
        await asyncio.sleep(self.latency)
        system = messages[0].content
        if "You review" in system:
            first_principles = "Principles under review" in messages[1].content and "REVISED" not in messages[1].content
            text = f"Feedback: ok\nScore: {3 if first_principles else 5}"
        else:
            text = "REVISED draft" if len(messages) > 2 else "first draft"
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])


async def plain_loop(query: str, model: ScriptModel) -> int:
    """SPRI written by hand: same prompts, same helpers, no graph."""
    ctx = Context(model=model)
    profile = load_profile(ctx.profile)
    seeds = select_seeds(load_seeds(ctx.seeds, ctx.profile), ctx.seed_policy, None)
    examples = [
        profile.render(
            "principles", "example", input=profile.input_block(s.inputs, "principles"), principles=s.principles
        )
        for s in seeds
    ]
    calls = 0
    principles = None
    for stage in ("principles", "response"):
        values = {"query": query, "input": profile.input_block({"query": query}, stage), "principles": principles}
        system = SystemMessage(content=profile.render(stage, "system", examples=examples, **values))
        base = [system, HumanMessage(content=profile.render(stage, "draft", **values))]
        draft = await models.generate(model, base, role="base", max_tokens=512)
        calls += draft.usage.calls
        text = draft.text
        for round_ in range(1, ctx.max_rounds + 1):
            judge = [
                SystemMessage(content=profile.render(stage, "critic", **values)),
                HumanMessage(content=profile.render(stage, "judge", draft=text, **values)),
            ]
            critique, usage = await models.judge(model, judge, max_tokens=512)
            calls += usage.calls
            if critique.score is None or critique.score >= ctx.min_score or round_ == ctx.max_rounds:
                break
            refine = [
                *base,
                AIMessage(content=text),
                HumanMessage(content=profile.render(stage, "refine", feedback=critique.feedback, **values)),
            ]
            reply = await models.generate(model, refine, role="base", max_tokens=512)
            calls += reply.usage.calls
            text = reply.text
        principles = text
    return calls


async def _time(fn: Any) -> float:
    start = time.perf_counter()
    for i in range(RUNS):
        await fn(i)
    return (time.perf_counter() - start) / RUNS


async def measure() -> dict[str, Any]:
    model = ScriptModel()
    assert await plain_loop("warm-up?", model) == 6
    with tempfile.TemporaryDirectory() as tmp:
        saver_context = AsyncSqliteSaver.from_conn_string(str(Path(tmp) / "bench.sqlite"))
        sqlite = await saver_context.__aenter__()  # one open database, as a server or batch would hold
        await sqlite.setup()
        memory = InMemorySaver()

        async def graph_memory(i: int) -> None:
            result = await arun(f"Question {i}?", model=model, checkpointer=memory, thread_id=f"m{i}")
            assert result.calls == 6

        async def graph_sqlite(i: int) -> None:
            result = await arun(f"Question {i}?", model=model, checkpointer=sqlite, thread_id=f"s{i}")
            assert result.calls == 6

        async def loop(i: int) -> None:
            await plain_loop(f"Question {i}?", model)

        await graph_memory(-1), await graph_sqlite(-1)
        samples: dict[str, list[float]] = {"loop": [], "memory": [], "sqlite": []}
        for _ in range(REPEATS):  # interleaved, so drift on the machine hits all three alike
            samples["loop"].append(await _time(loop))
            samples["memory"].append(await _time(graph_memory))
            samples["sqlite"].append(await _time(graph_sqlite))
        await saver_context.__aexit__(None, None, None)
    median = {k: statistics.median(v) for k, v in samples.items()}
    return {
        "loop_ms": median["loop"] * 1000,
        "memory_ms": median["memory"] * 1000,
        "sqlite_ms": median["sqlite"] * 1000,
        "memory_ratio": median["memory"] / median["loop"],
        "sqlite_ratio": median["sqlite"] / median["loop"],
    }


def report(r: dict[str, Any]) -> str:
    ok_memory, ok_sqlite = r["memory_ratio"] <= 1.05, r["sqlite_ratio"] <= 1.10
    return "\n".join(
        [
            "## P1 — orchestration overhead",
            "",
            f"One SPRI run = 6 calls to a fake model with {LATENCY * 1000:.0f} ms latency (principles refined once). "
            f"Median of {REPEATS} x {RUNS} runs each, interleaved.",
            "",
            "| variant | ms per run | ratio to plain loop | target | meets |",
            "|---|---|---|---|---|",
            f"| plain async loop (same prompts and helpers) | {r['loop_ms']:.1f} | 1.000 | - | - |",
            f"| SPRI graph, in-memory saver | {r['memory_ms']:.1f} | {r['memory_ratio']:.3f} | <= 1.05 | "
            f"{'yes' if ok_memory else 'NO'} |",
            f"| SPRI graph, SQLite, durability=sync | {r['sqlite_ms']:.1f} | {r['sqlite_ratio']:.3f} | <= 1.10 | "
            f"{'yes' if ok_sqlite else 'NO'} |",
        ]
    )


if __name__ == "__main__":
    results = asyncio.run(measure())
    print(report(results))
