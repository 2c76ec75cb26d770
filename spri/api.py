"""The Python API: run SPRI on one input and get a :class:`Result`.

from spri import run
result = run("How do I tell my team about a missed deadline?", model="openai:gpt-4o-mini")
print(result.principles, result.response, result.stop_reason, result.calls)
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack
from typing import Any, Literal

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Checkpointer, Command, Durability
from pydantic import BaseModel, Field, ValidationError

from spri import models
from spri.graph import build_graph
from spri.state import Context, Critique, Input, InputError, Output, SpriError, check_input, load_profile, load_seeds
from spri.storage import open_checkpointer

CONTEXT_KEY = "spri_context"
"""Checkpoint metadata key holding the run's context (models by name), so `resume` can continue it."""


class Result(Output):
    """The outcome of a run: the graph's output plus the thread it ran on. ``status`` is "interrupted"
    when the run paused for a human review of the principles (``interrupt`` holds what to review);
    continue it with ``run(None, thread_id=..., checkpointer=..., resume="approve" | {...})``."""

    thread_id: str | None = None
    status: Literal["done", "interrupted"] = "done"
    interrupt: dict[str, Any] | None = None


class Update(BaseModel):
    """One finished node of a run (from :func:`astream`): a draft, a critique, or the final step."""

    node: str
    stage: str | None = None
    round: int | None = Field(default=None, description="Which critique round of the stage this belongs to.")
    score: int | None = None
    text: str | None = Field(default=None, description="The draft, or the critique's feedback.")
    stop_reason: dict[str, str] | None = None


def make_context(context: Context | Mapping[str, Any] | None = None, **options: Any) -> Context:
    """A validated Context from an object or mapping plus keyword overrides; errors name the field."""
    if isinstance(context, Context) and not any(v is not None for v in options.values()):
        # Used as is (batch items share one): its fields were validated when it was built, and a bad
        # profile, seeds file or model spec is still reported clearly where it is first used.
        return context
    base = context.model_dump() if isinstance(context, Context) else dict(context or {})
    if isinstance(context, Context):  # keep model objects as objects
        base["model"], base["critic_model"] = context.model, context.critic_model
    base.update({k: v for k, v in options.items() if v is not None})
    try:
        ctx = Context(**base)
    except ValidationError as exc:
        raise SpriError(_describe(exc, "setting")) from exc
    load_profile(ctx.profile)  # fail now, not mid-run, on an unknown or malformed profile or seeds
    load_seeds(ctx.seeds, ctx.profile, ctx.seed_fields)
    models.resolve(ctx.model, ctx.max_tokens)  # and on a model spec that cannot work (no key, no file)
    models.resolve(ctx.critic, ctx.max_tokens)
    return ctx


def make_input(query: str | Input | Mapping[str, Any], ctx: Context, **fields: Any) -> Input:
    """A validated Input for the context's profile and method; errors name the missing field."""
    if isinstance(query, Input):
        data = query.model_dump()
    elif isinstance(query, Mapping):
        data = dict(query)
    else:
        data = {"query": query}
    data.update({k: v for k, v in fields.items() if v is not None})
    try:
        inputs = Input(**data)
    except ValidationError as exc:
        raise InputError(_describe(exc, "input field")) from exc
    check_input(inputs, ctx.spec, load_profile(ctx.profile))
    return inputs


def _describe(exc: ValidationError, what: str) -> str:
    return "; ".join(
        f"{what} '{'.'.join(str(p) for p in err['loc'])}': {err['msg']}" if err["loc"] else err["msg"]
        for err in exc.errors()
    )


def saved_context(metadata: Mapping[str, Any] | None) -> dict[str, Any]:
    """The context a thread was started with, as stored in its checkpoint metadata."""
    raw = (metadata or {}).get(CONTEXT_KEY)
    if not raw:
        raise SpriError("this thread has no saved settings; pass the model and options again")
    data: dict[str, Any] = json.loads(raw)
    return data


def durability_for(saver: Any) -> Durability:
    """ "sync" for savers that outlive the process: every step's checkpoint is stored before the next
    step starts, so a kill loses at most the step in flight. In-memory checkpoints die with the process
    anyway, so they are written in the background ("async") instead of being waited for."""
    return "async" if isinstance(saver, InMemorySaver) else "sync"


def run_config(thread_id: str, ctx: Context, parent: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The run's config: its thread, and metadata that every traced run inherits. ``parent`` passes a
    caller's callbacks and tags through (e.g. a server's event stream)."""
    parent = parent or {}
    metadata = {
        **(parent.get("metadata") or {}),
        CONTEXT_KEY: ctx.to_json(),
        "profile": ctx.profile,
        "method": ctx.method,
    }
    config: dict[str, Any] = {"configurable": {"thread_id": thread_id}, "metadata": metadata, "run_name": "spri"}
    for key in ("callbacks", "tags"):
        if parent.get(key):
            config[key] = parent[key]
    return config


async def astream(
    query: str | Input | Mapping[str, Any] | None,
    *,
    context: Context | Mapping[str, Any] | None = None,
    thread_id: str | None = None,
    checkpointer: Checkpointer | str | None = None,
    progress: bool = True,
    resume: Any = None,
    parent_config: Mapping[str, Any] | None = None,
    **options: Any,
) -> AsyncIterator[Update | Result]:
    """Run SPRI, yielding an :class:`Update` per finished node (unless ``progress`` is False) and
    finally the :class:`Result`.

    ``query`` None continues the thread from its checkpoint (``resume`` answers a pending review).
    ``checkpointer`` is a LangGraph
    checkpointer, a SQLite path or a postgresql:// URL; None runs without persistence (fastest).
    Keyword options are Context fields (model, critic_model, min_score, ...) or input fields
    (goal, reference, response_to_judge, principles, category).
    """
    input_fields = {k: options.pop(k) for k in list(options) if k in Input.model_fields}
    thread_id = thread_id or uuid.uuid4().hex[:12]
    async with AsyncExitStack() as stack:
        saver = await stack.enter_async_context(open_checkpointer(checkpointer))
        graph = build_graph(saver)
        snapshot = None
        if query is None and saver is None:
            raise SpriError("continuing a run needs the checkpointer (database) it was saved in")
        if resume is not None and query is not None:
            raise SpriError("resume answers a paused run: pass query=None with its thread_id")
        if query is None:  # continue a thread: its context comes from the checkpoint unless given
            snapshot = await graph.aget_state({"configurable": {"thread_id": thread_id}})
            if not snapshot.values:
                raise SpriError(f"no run with thread id '{thread_id}' in this checkpoint database")
            if context is None:
                context = saved_context(snapshot.metadata)
        ctx = make_context(context, **options)
        if ctx.review_principles and saver is None:
            raise SpriError(
                "review_principles pauses the run, which needs a checkpointer to resume from "
                "(e.g. checkpointer='runs.sqlite')"
            )
        inputs = None if query is None else make_input(query, ctx, **input_fields)
        config = run_config(thread_id, ctx, parent_config)
        if snapshot is not None and not snapshot.next:  # finished already: nothing to run
            yield Result(**Output.model_validate(snapshot.values).model_dump(), thread_id=thread_id)
            return
        if snapshot is not None and _pending_interrupt(snapshot) and resume is None:
            yield _interrupted(snapshot, thread_id)  # still waiting for the human
            return
        values: dict[str, Any] = dict(snapshot.values) if snapshot is not None else {}
        persistence = {"durability": durability_for(saver)} if saver is not None else {}
        rounds = Counter({stage: len(items) for stage, items in (values.get("critiques") or {}).items()})
        payload: Any = None if inputs is None else inputs.model_dump()  # all fields: none left from an earlier run
        if resume is not None:
            payload = Command(resume=resume)
        paused = False
        stream = graph.astream(payload, config, context=ctx, stream_mode=["updates", "values"], **persistence)
        async for mode, chunk in stream:
            if mode == "values":
                values = chunk
                continue
            paused = paused or "__interrupt__" in chunk  # how the updates stream reports a pause
            for node, update in chunk.items():
                if progress and isinstance(update, dict):
                    yield _progress(node, update, rounds)
        if paused and saver is not None:  # the interrupt's details (and its task) live in the checkpoint
            state = await graph.aget_state(config)
            if _pending_interrupt(state):
                yield _interrupted(state, thread_id)
                return
        yield Result(**Output.model_validate(values).model_dump(), thread_id=thread_id)


def _pending_interrupt(snapshot: Any) -> dict[str, Any] | None:
    for task in snapshot.tasks or ():
        for pending in task.interrupts or ():
            value = pending.value
            return value if isinstance(value, dict) else {"value": value}
    return None


def _interrupted(snapshot: Any, thread_id: str) -> Result:
    values = Output.model_validate(snapshot.values).model_dump()
    values["principles"] = values.get("principles") or (values.get("drafts") or {}).get("principles", [None])[-1]
    return Result(**values, thread_id=thread_id, status="interrupted", interrupt=_pending_interrupt(snapshot))


def _progress(node: str, update: dict[str, Any], rounds: Counter[str]) -> Update:
    for stage, critiques in (update.get("critiques") or {}).items():
        rounds[stage] += 1
        critique = Critique.model_validate(critiques[-1])
        return Update(node=node, stage=stage, round=rounds[stage], score=critique.score, text=critique.feedback)
    for stage, drafts in (update.get("drafts") or {}).items():
        return Update(node=node, stage=stage, round=rounds[stage] + 1, text=drafts[-1])
    return Update(node=node, stop_reason=update.get("stop_reason"))


async def arun(query: str | Input | Mapping[str, Any] | None, **kwargs: Any) -> Result:
    """Run SPRI to the end and return the :class:`Result` (see :func:`astream` for the options)."""
    result: Result | None = None
    async for item in astream(query, progress=False, **kwargs):
        if isinstance(item, Result):
            result = item
    assert result is not None
    return result


def run(query: str | Input | Mapping[str, Any] | None, **kwargs: Any) -> Result:
    """Synchronous :func:`arun`. Inside a running event loop (Jupyter) it runs on a private loop in a
    worker thread, so it works there too (``await arun(...)`` is the native way)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(arun(query, **kwargs))
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="spri-run") as pool:
        return pool.submit(asyncio.run, arun(query, **kwargs)).result()
