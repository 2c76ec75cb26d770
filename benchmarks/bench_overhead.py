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
import tempfile
import time
from pathlib import Path
from typing import Any

from harness import main
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

from spri import arun, models
from spri.nodes.profiles import load_profile, load_seeds, select_seeds
from spri.state import Context
from tests.support.fakes import is_critic_prompt

LATENCY = 0.020
RUNS = 25
REPEATS = 5


class ScriptModel(BaseChatModel):
    """20 ms per call; principles critique 1 scores 3, every other critique 5."""

    latency: float = LATENCY

    @property
    def _llm_type(self) -> str:
        return "script"

    def _reply(self, messages: list[Any]) -> ChatResult:
        if is_critic_prompt(messages):
            first_principles = "Principles under review" in messages[1].content and "REVISED" not in messages[1].content
            text = f"Feedback: ok\nScore: {3 if first_principles else 5}"
        else:
            text = "REVISED draft" if len(messages) > 2 else "first draft"
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])

    def _generate(self, messages: list[Any], stop: Any = None, run_manager: Any = None, **kw: Any) -> ChatResult:
        time.sleep(self.latency)
        return self._reply(messages)

    async def _agenerate(self, messages: list[Any], stop: Any = None, run_manager: Any = None, **kw: Any) -> ChatResult:
        await asyncio.sleep(self.latency)
        return self._reply(messages)


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
            critique, usage = await models.verdict(model, judge, max_tokens=512)
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


def _floor_graph() -> Any:
    """LangGraph alone: as many nodes as a SPRI run executes (begin, 6 model calls, finalize), the same state
    schema and the 6 model-call sleeps; no SPRI code at all."""
    from langgraph.graph import END, START, StateGraph

    from spri.state import Input, Output, State

    async def noop(state: Any) -> dict[str, Any]:
        return {}

    async def call(state: Any) -> dict[str, Any]:
        await asyncio.sleep(LATENCY)
        return {}

    builder = StateGraph(State, context_schema=Context, input_schema=Input, output_schema=Output)
    steps = [noop, call, call, call, call, call, call, noop]
    names = [f"step{i}" for i in range(len(steps))]
    for name, step in zip(names, steps, strict=True):
        builder.add_node(name, step)
    for a, b in zip([START, *names], [*names, END], strict=True):
        builder.add_edge(a, b)
    return builder.compile()


async def _sleeps(i: int) -> None:
    for _ in range(6):
        await asyncio.sleep(LATENCY)


async def profile_by_package(runs: int = 100) -> list[tuple[str, float]]:
    """Where a run's CPU goes (latency 0, in-memory saver): cProfile own time grouped by package."""
    import cProfile
    import pstats

    model = ScriptModel(latency=0.0)
    memory = InMemorySaver()

    async def many() -> None:
        for i in range(runs):
            await arun(f"Profiled {i}?", model=model, checkpointer=memory, thread_id=f"p{i}")

    await many()  # warm caches
    profiler = cProfile.Profile()
    profiler.enable()
    await many()
    profiler.disable()
    groups: dict[str, float] = {}
    for (filename, _, _), (_, _, own, _, _) in pstats.Stats(profiler).stats.items():  # type: ignore[attr-defined]
        groups[_package(filename)] = groups.get(_package(filename), 0.0) + own
    total = sum(groups.values()) or 1.0
    return sorted(((name, 100 * t / total) for name, t in groups.items()), key=lambda x: -x[1])[:7]


def _package(filename: str) -> str:
    for name in ("langgraph", "langchain_core", "langsmith", "pydantic", "jinja2", "asyncio"):
        if f"/{name}/" in filename:
            return name
    if ("/work/" in filename and "/site-packages/" not in filename) or "/spri/" in filename:
        return "spri (graph/, nodes/, state/, spri/)"
    return "other (stdlib, builtins)"


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
        await sqlite.conn.execute("PRAGMA synchronous=NORMAL")  # as spri.storage opens it
        memory = InMemorySaver()

        async def graph_memory(i: int) -> None:
            result = await arun(f"Question {i}?", model=model, checkpointer=memory, thread_id=f"m{i}")
            assert result.calls == 6

        async def graph_sqlite(i: int) -> None:
            result = await arun(f"Question {i}?", model=model, checkpointer=sqlite, thread_id=f"s{i}")
            assert result.calls == 6

        async def loop(i: int) -> None:
            await plain_loop(f"Question {i}?", model)

        floor = _floor_graph()
        floor_memory = floor.copy(update={"checkpointer": InMemorySaver()})
        floor_sqlite = floor.copy(update={"checkpointer": sqlite})

        async def langgraph_memory(i: int) -> None:
            config = {"configurable": {"thread_id": f"fm{i}-{time.monotonic_ns()}"}}
            await floor_memory.ainvoke({"query": "q"}, config, context=Context(), durability="async")

        async def langgraph_sqlite(i: int) -> None:
            config = {"configurable": {"thread_id": f"fs{i}-{time.monotonic_ns()}"}}
            await floor_sqlite.ainvoke({"query": "q"}, config, context=Context(), durability="sync")

        for warm_up in (graph_memory, graph_sqlite, langgraph_memory, langgraph_sqlite):
            await warm_up(-1)
        variants = {
            "loop": loop,
            "memory": graph_memory,
            "sqlite": graph_sqlite,
            "sleeps": _sleeps,
            "floor_memory": langgraph_memory,
            "floor_sqlite": langgraph_sqlite,
        }
        samples: dict[str, list[float]] = {name: [] for name in variants}
        for _ in range(REPEATS):  # interleaved, so drift on the machine hits all variants alike
            for name, fn in variants.items():
                samples[name].append(await _time(fn))
        await saver_context.__aexit__(None, None, None)
    median = {k: statistics.median(v) for k, v in samples.items()}
    profile = await profile_by_package()
    return {
        "loop_ms": median["loop"] * 1000,
        "memory_ms": median["memory"] * 1000,
        "sqlite_ms": median["sqlite"] * 1000,
        "memory_ratio": median["memory"] / median["loop"],
        "sqlite_ratio": median["sqlite"] / median["loop"],
        "sleeps_ms": median["sleeps"] * 1000,
        "floor_memory_ms": median["floor_memory"] * 1000,
        "floor_sqlite_ms": median["floor_sqlite"] * 1000,
        "floor_memory_ratio": median["floor_memory"] / median["sleeps"],
        "floor_sqlite_ratio": median["floor_sqlite"] / median["sleeps"],
        "profile": profile,
    }


def _floor_verdict(r: dict[str, Any]) -> str:
    over = [
        f"{name} {ratio:.3f} > {target}"
        for name, ratio, target in (
            ("in memory", r["floor_memory_ratio"], 1.05),
            ("SQLite", r["floor_sqlite_ratio"], 1.10),
        )
        if ratio > target
    ]
    if over:
        return "the floor alone already exceeds the target (" + "; ".join(over) + ")."
    return "the floor is within the targets, so the remaining gap is SPRI's to remove."


def report(r: dict[str, Any]) -> str:
    ok_memory, ok_sqlite = r["memory_ratio"] <= 1.05, r["sqlite_ratio"] <= 1.10
    own_memory = r["memory_ms"] - r["loop_ms"] - (r["floor_memory_ms"] - r["sleeps_ms"])
    own_sqlite = r["sqlite_ms"] - r["loop_ms"] - (r["floor_sqlite_ms"] - r["sleeps_ms"])
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
            "",
            "**The floor.** LangGraph alone, with no SPRI code (as many nodes as a SPRI run executes: begin, six "
            "model calls, finalize; the same state schema; no-op nodes around the same six 20 ms sleeps), against "
            "the bare sleeps:",
            "",
            "| variant | ms per run | ratio to bare sleeps |",
            "|---|---|---|",
            f"| 6 x `asyncio.sleep(0.02)` | {r['sleeps_ms']:.1f} | 1.000 |",
            f"| LangGraph, in-memory saver | {r['floor_memory_ms']:.1f} | {r['floor_memory_ratio']:.3f} |",
            f"| LangGraph, SQLite, durability=sync | {r['floor_sqlite_ms']:.1f} | {r['floor_sqlite_ratio']:.3f} |",
            "",
            f"SPRI's own share is the difference: {own_memory:.1f} ms per run in memory and {own_sqlite:.1f} ms with "
            "SQLite (routing, prompt rendering inside nodes, and real state to checkpoint: the floor's nodes write "
            "nothing). The rest of the gap is LangGraph's per-step cost on this 2-core machine (task scheduling, "
            "channel updates, checkpoint creation and, for SQLite, one committed write per step through aiosqlite's "
            f"thread): {_floor_verdict(r)} Removed after profiling: compiling the "
            "graph per run (25 ms), sync routers run in a thread pool, per-call structured-output runnables, "
            "re-rendering seed examples, an fsync per SQLite step (WAL + synchronous=NORMAL keeps every committed "
            "step through a process crash), waiting for in-memory checkpoint writes, re-reading the checkpoint "
            "after each run to look for a pause (the stream reports it), locating the built-in seed file per call.",
            "",
            "Profile of the graph runs (cProfile own time, latency 0, in-memory saver), by package:",
            "",
            "| package | share of CPU |",
            "|---|---|",
            *(f"| {name} | {share:.0f}% |" for name, share in r["profile"]),
        ]
    )


if __name__ == "__main__":
    main(measure, report)


SECTION = "p1"
"""Which section of RESULTS.md this benchmark writes (``make bench`` finds benchmarks by it)."""
