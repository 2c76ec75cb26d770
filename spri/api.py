"""The Python API, and the one door the surfaces (CLI, server, batch, chat, eval) use into the engine.

from spri import run
result = run("How do I tell my team about a missed deadline?", model="openai:gpt-4o-mini")
print(result.principles, result.response, result.stop_reason, result.calls)

- :func:`run` / :func:`arun` / :func:`astream` run SPRI on one input, or continue a thread;
- :func:`load_thread` reads a thread back (its output so far, a pending review, its saved settings);
- :func:`open_checkpointer` opens a checkpoint database once for several of these calls.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, TypeAlias, overload

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from langgraph.prebuilt import InjectedState
from langgraph.types import Checkpointer, Command

from spri.errors import explain
from spri.feedback import record_scores, tracing_on
from spri.graph import build_graph
from spri.inputs import make_context, make_input
from spri.models import EndpointPool, endpoint_pool, formatted_answer
from spri.models.calls import MODEL_CALLBACKS
from spri.models.redaction import redact, redact_url
from spri.nodes.chat import reply as chat_reply
from spri.nodes.profiles import builtin_profiles, load_profile
from spri.nodes.review import read_decision
from spri.results import Result, Thread, Token, Update
from spri.state import (
    METHODS,
    RENAMED_FIELDS,
    STAGES,
    Context,
    Critique,
    Evaluation,
    Input,
    InputError,
    ModelSpec,
    Output,
    SpriError,
    Usage,
    compared_in,
    model_name,
)
from spri.state.columns import COLUMN_ALIASES
from spri.state.conversation import as_turn
from spri.state.profile import UNIVERSAL_FIELDS, compile_template
from spri.storage import (
    DatabaseUnavailable,
    Pruned,
    ThreadBusy,
    compacts,
    default_db,
    delete,
    open_checkpointer,
    parse_duration,
    prune,
    thread_lease,
)
from spri.storage import compact as compact_thread
from spri.subgraph import arun_subgraph, run_subgraph
from spri.threads import durability_for, read_snapshot, run_config, saved_context

Query: TypeAlias = str | Input | Mapping[str, Any] | None
"""What to run on: the query text, an Input (or its fields), or None to continue a thread."""

__all__ = [
    "COLUMN_ALIASES",
    "METHODS",
    "MODEL_CALLBACKS",
    "RENAMED_FIELDS",
    "STAGES",
    "Context",
    "DatabaseUnavailable",
    "EndpointPool",
    "Evaluation",
    "InjectedState",
    "Input",
    "InputError",
    "ModelSpec",
    "Output",
    "Pruned",
    "Result",
    "SpriError",
    "Thread",
    "ThreadBusy",
    "Token",
    "Update",
    "Usage",
    "arun",
    "arun_subgraph",
    "as_turn",
    "astream",
    "build_graph",
    "builtin_profiles",
    "chat_reply",
    "compared_in",
    "default_db",
    "delete_thread",
    "endpoint_pool",
    "explain",
    "formatted_answer",
    "load_thread",
    "make_context",
    "make_input",
    "model_name",
    "open_checkpointer",
    "parse_duration",
    "profile_fields",
    "prompt_messages",
    "prune_threads",
    "redact",
    "redact_url",
    "run",
    "run_subgraph",
]


async def load_thread(thread_id: str, checkpointer: Checkpointer | str | None = None) -> Thread | None:
    """The thread's output so far, pending review, next steps and saved settings; None if no run has
    that thread id in the checkpoint database (default: the CLI's)."""
    async with open_checkpointer(checkpointer or default_db()) as saver:
        snapshot = await read_snapshot(saver, thread_id)
    if not snapshot.exists:
        return None
    inputs = Input.model_validate({k: v for k, v in snapshot.values.items() if k in Input.model_fields})
    return Thread(input=inputs, result=Result.of(snapshot), settings=snapshot.settings)


async def delete_thread(thread_id: str, checkpointer: Checkpointer | str | None = None) -> bool:
    """Delete a thread (every checkpoint of it) from the checkpoint database (default: the CLI's);
    False if there is no such thread. A thread that a run is using is refused with :class:`ThreadBusy`."""
    async with open_checkpointer(checkpointer or default_db()) as saver:
        return await delete(saver, thread_id)


async def prune_threads(
    older_than: timedelta | str, checkpointer: Checkpointer | str | None = None, *, now: datetime | None = None
) -> Pruned:
    """Delete every thread of the checkpoint database (default: the CLI's) whose last step is older than
    ``older_than`` (a timedelta or a duration such as "30d"); threads a run is using are left alone."""
    age = parse_duration(older_than, "older_than") if isinstance(older_than, str) else older_than
    async with open_checkpointer(checkpointer or default_db()) as saver:
        return await prune(saver, age, now=now)


def profile_fields(profile: str, *, required: bool = False, every: bool = False) -> list[str]:
    """The input fields a profile (built-in name or file) declares (or only those it requires), in
    order; with ``every``, also those every profile takes (principles, category). Any other field is
    refused before a run starts."""
    declared = [f.name for f in load_profile(profile).fields if f.required or not required]
    return list(dict.fromkeys([*declared, *UNIVERSAL_FIELDS])) if every else declared


def prompt_messages(system: str, user: str, variables: Mapping[str, Any]) -> list[BaseMessage]:
    """A system and a user message from two templates (sandboxed Jinja2, like the profiles')."""
    return [
        SystemMessage(content=compile_template(system).render(**variables)),
        HumanMessage(content=compile_template(user).render(**variables)),
    ]


@dataclass
class _Prepared:
    """A run ready to drive: the graph and its config, what to send it, or the answer already known."""

    graph: Any
    config: dict[str, Any]
    ctx: Context
    payload: Any
    options: dict[str, Any]
    answer: Result | None = None


async def _prepare(
    saver: Any,
    query: Query,
    thread_id: str,
    context: Context | Mapping[str, Any] | None,
    resume: Any,
    parent_config: Mapping[str, Any] | None,
    options: dict[str, Any],
    fields: dict[str, Any],
) -> _Prepared:
    """Validate everything and read the thread (if continuing one) before any model call."""
    if query is None and saver is None:
        raise SpriError("continuing a run needs the checkpointer (database) it was saved in")
    if resume is not None and query is not None:
        raise SpriError("resume answers a paused run: pass query=None with its thread_id")
    snapshot = None
    if query is None:  # continue a thread: its settings come from the checkpoint unless given
        snapshot = await read_snapshot(saver, thread_id)
        if not snapshot.exists:
            raise SpriError(f"no run with thread id '{thread_id}' in this checkpoint database")
        if context is None:
            context = saved_context(snapshot, options)
    ctx = make_context(context, **options)
    if ctx.review_principles and saver is None:
        raise SpriError(
            "review_principles pauses the run, which needs a checkpointer to resume from "
            "(e.g. checkpointer='runs.sqlite')"
        )
    graph = build_graph(saver)
    config = run_config(thread_id, ctx, parent_config)
    persistence = {"durability": durability_for(saver)} if saver is not None else {}
    prepared = _Prepared(graph, config, ctx, None, persistence)
    if snapshot is not None:
        if not snapshot.next or (snapshot.review is not None and resume is None):
            prepared.answer = Result.of(snapshot)  # finished already, or still waiting for the human
        elif resume is not None:
            if snapshot.review is None:
                raise SpriError(f"thread '{thread_id}' is not waiting for a review; continue it without an answer")
            read_decision(resume)  # refused here, before it is stored: the thread stays paused
            prepared.payload = Command(resume=resume)
        return prepared
    assert query is not None
    prepared.payload = make_input(query, ctx, **fields).model_dump()  # all fields: none left from before
    return prepared


async def _drive(
    run: _Prepared, thread_id: str, progress: bool, tokens: bool
) -> AsyncIterator[Update | Token | Result]:
    """Stream the graph: Tokens of drafts (if asked), an Update per finished node, then the Result
    (or the pause)."""
    values: dict[str, Any] = {}
    paused = False
    streamed: set[str] = set()  # nodes whose draft came as Tokens
    modes = ["updates", "values", "messages"] if tokens else ["updates", "values"]
    stream = run.graph.astream(run.payload, run.config, context=run.ctx, stream_mode=modes, **run.options)
    async for mode, chunk in stream:
        if mode == "values":
            values = chunk
            continue
        if mode == "messages":
            token = _token(*chunk)
            if token is not None:
                streamed.add(token.node)
                yield token
            continue
        paused = paused or "__interrupt__" in chunk  # how the updates stream reports a pause
        for node, update in chunk.items():
            if node not in run.graph.nodes:
                continue  # a task inside a node (a speculation and its judge): the node reports it
            if tokens and isinstance(update, dict) and node not in streamed:
                token = _adopted(node, update)
                if token is not None:
                    yield token
            streamed.discard(node)
            if progress and isinstance(update, dict):
                yield _progress(node, update, values)
    if paused:  # the interrupt's details (and its task) live in the checkpoint
        snapshot = await read_snapshot(run.graph.checkpointer, thread_id)
        if snapshot.review is not None:
            yield Result.of(snapshot)
            return
    result = Result(**Output.model_validate(values).model_dump(), thread_id=thread_id)
    if tracing_on():
        await asyncio.to_thread(record_scores, run.config["run_id"], result)
    yield result


def _token(message: Any, metadata: dict[str, Any]) -> Token | None:
    """A draft's text chunk (the base model's calls are the ones tagged ``spri:base``)."""
    text = message.text if hasattr(message, "text") else ""
    if "spri:base" not in (metadata.get("tags") or ()) or not text:
        return None
    node = str(metadata.get("langgraph_node", ""))
    return Token(node=node, stage=node.split("_", 1)[-1] or None, text=text)


def _adopted(node: str, update: dict[str, Any]) -> Token | None:
    """A speculative response draft taken as the first draft (``speculate``): its tokens were held back
    while it might be discarded, so it comes whole now."""
    drafts = (update.get("drafts") or {}).get("response")
    if "speculation" not in update or not drafts or update.get("verdicts"):
        return None
    return Token(node=node, stage="response", text=drafts[-1])


def _progress(node: str, update: dict[str, Any], values: dict[str, Any]) -> Update:
    """An Update for one node's writes; ``values`` is the state before or after them (writers do not
    change the round count, judges report theirs)."""
    for stage, critiques in (update.get("critiques") or {}).items():
        critique = Critique.model_validate(critiques[-1])
        round_ = (update.get("rounds") or {}).get(stage)
        return Update(node=node, stage=stage, round=round_, score=critique.score, text=critique.feedback)
    for stage, drafts in (update.get("drafts") or {}).items():
        round_ = (values.get("rounds") or {}).get(stage, 0) + 1
        return Update(node=node, stage=stage, round=round_, text=drafts[-1])
    return Update(node=node, stop_reason=update.get("stop_reason"))


@overload
def astream(query: Query, *, tokens: Literal[False] = False, **options: Any) -> AsyncIterator[Update | Result]: ...
@overload
def astream(query: Query, *, tokens: bool, **options: Any) -> AsyncIterator[Update | Token | Result]: ...


async def astream(
    query: Query,
    *,
    context: Context | Mapping[str, Any] | None = None,
    thread_id: str | None = None,
    checkpointer: Checkpointer | str | None = None,
    progress: bool = True,
    tokens: bool = False,
    resume: Any = None,
    parent_config: Mapping[str, Any] | None = None,
    compact: bool | None = None,
    **options: Any,
) -> AsyncIterator[Update | Token | Result]:
    """Run SPRI, yielding an :class:`Update` per finished node (unless ``progress`` is False), with
    ``tokens`` a :class:`Token` per piece of each draft as the base model writes it (models that
    stream), and finally the :class:`Result`.

    ``query`` None continues the thread from its checkpoint (``resume`` answers a pending review).
    ``checkpointer`` is a LangGraph checkpointer, a SQLite path or a postgresql:// URL; None runs
    without persistence (fastest). Keyword options are Context fields (model, critic_model,
    min_score, ...) or input fields (goal, reference, response_to_judge, principles, category).

    When the run ends (finished, or paused for a review), its thread keeps only its latest checkpoint
    (all that reading it back and continuing it need) if ``compact`` is True, or, with ``compact`` None,
    if spri opened the database (a path or URL, not a saver object you pass in).
    """
    fields = {k: options.pop(k) for k in list(options) if k in Input.model_fields}
    thread_id = thread_id or uuid.uuid4().hex[:12]
    async with AsyncExitStack() as stack:
        saver = await stack.enter_async_context(open_checkpointer(checkpointer))
        await stack.enter_async_context(thread_lease(saver, thread_id))  # one run per thread: ThreadBusy
        prepared = await _prepare(saver, query, thread_id, context, resume, parent_config, options, fields)
        if prepared.answer is not None:
            yield prepared.answer
            return
        async for item in _drive(prepared, thread_id, progress, tokens):
            if isinstance(item, Result) and compacts(saver, compact):
                await compact_thread(saver, thread_id)
            yield item


async def arun(query: Query, **kwargs: Any) -> Result:
    """Run SPRI to the end and return the :class:`Result` (see :func:`astream` for the options)."""
    result: Result | None = None
    async for item in astream(query, progress=False, **kwargs):
        if isinstance(item, Result):
            result = item
    assert result is not None
    return result


def run(query: Query, **kwargs: Any) -> Result:
    """Synchronous :func:`arun`. Inside a running event loop (Jupyter) it runs on a private loop in a
    worker thread, so it works there too (``await arun(...)`` is the native way)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(arun(query, **kwargs))
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="spri-run") as pool:
        return pool.submit(asyncio.run, arun(query, **kwargs)).result()
