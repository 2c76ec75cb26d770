"""Threads: a run's checkpointed state read back, the settings saved with it, and the run config that
saves them. Used by :mod:`spri.api`; surfaces reach threads only through it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Durability

from spri.graph import build_graph
from spri.state import Context, Output, SpriError

CONTEXT_KEY = "spri_context"
"""Checkpoint metadata key holding the run's context (models by name), so a later run can continue it."""


@dataclass
class Snapshot:
    """What a checkpointer holds for one thread (empty ``values``: no such thread)."""

    thread_id: str
    values: dict[str, Any]
    next: tuple[str, ...] = ()
    settings: dict[str, Any] | None = None
    review: dict[str, Any] | None = field(default=None)
    """The pending human review's payload, if the run is paused for one."""

    @property
    def exists(self) -> bool:
        return bool(self.values)

    def output(self) -> Output:
        """The output so far; a paused or unfinished run's principles are stage 1's latest draft."""
        output = Output.model_validate(self.values)
        if output.principles is None and output.drafts.get("principles"):
            output.principles = output.drafts["principles"][-1]
        return output


def thread_config(thread_id: str) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread_id}}


async def read_snapshot(saver: Any, thread_id: str) -> Snapshot:
    """The thread's latest checkpoint from an open checkpointer."""
    state = await build_graph(saver).aget_state(thread_config(thread_id))
    raw = (state.metadata or {}).get(CONTEXT_KEY)
    return Snapshot(
        thread_id=thread_id,
        values=dict(state.values or {}),
        next=tuple(state.next or ()),
        settings=json.loads(raw) if raw else None,
        review=pending_review(state),
    )


def pending_review(state: Any) -> dict[str, Any] | None:
    """The payload of the interrupt a checkpointed run waits on, if any."""
    for task in state.tasks or ():
        for pending in task.interrupts or ():
            value = pending.value
            return value if isinstance(value, dict) else {"value": value}
    return None


def saved_settings(snapshot: Snapshot) -> dict[str, Any]:
    if not snapshot.settings:
        raise SpriError(f"thread '{snapshot.thread_id}' has no saved settings; pass the model and options again")
    return snapshot.settings


def durability_for(saver: Any) -> Durability:
    """ "sync" for savers that outlive the process: every step's checkpoint is stored before the next
    step starts, so a kill loses at most the step in flight. In-memory checkpoints die with the process
    anyway, so they are written in the background ("async") instead of being waited for."""
    return "async" if isinstance(saver, InMemorySaver) else "sync"


def run_config(thread_id: str, ctx: Context, parent: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The run's config: its thread, and metadata that every traced run inherits (the settings, saved
    with each checkpoint). ``parent`` passes a caller's callbacks and tags through (e.g. a server's
    event stream)."""
    parent = parent or {}
    metadata = {
        **(parent.get("metadata") or {}),
        CONTEXT_KEY: ctx.to_json(),
        "profile": ctx.profile,
        "method": ctx.method,
    }
    config: dict[str, Any] = {**thread_config(thread_id), "metadata": metadata, "run_name": "spri"}
    for key in ("callbacks", "tags"):
        if parent.get(key):
            config[key] = parent[key]
    return config
