"""Threads: a run's checkpointed state read back, the settings saved with it, and the run config that
saves them. Used by :mod:`spri.api`; surfaces reach threads only through it."""

from __future__ import annotations

import hashlib
import json
import os
import uuid
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Durability

from spri.graph import build_graph
from spri.models import chat_openai
from spri.models.calls import MODEL_CALLBACKS
from spri.models.redaction import MASK, redact_url
from spri.nodes.profiles import builtin_profiles
from spri.state import Context, Output, SpriError, model_name
from spri.state.context import class_name

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


def thread_config(thread_id: str) -> RunnableConfig:
    return {"configurable": {"thread_id": thread_id}}


async def read_snapshot(saver: Any, thread_id: str) -> Snapshot:
    """The thread's latest checkpoint from an open checkpointer."""
    state = await build_graph(saver).aget_state(thread_config(thread_id))
    raw = (state.metadata or {}).get(CONTEXT_KEY)
    return Snapshot(
        thread_id=thread_id,
        values=dict(state.values or {}),
        next=tuple(state.next or ()),
        settings=json.loads(raw) if isinstance(raw, str) and raw else None,
        review=pending_review(state),
    )


def pending_review(state: Any) -> dict[str, Any] | None:
    """The payload of the interrupt a checkpointed run waits on, if any."""
    for task in state.tasks or ():
        for pending in task.interrupts or ():
            value = pending.value
            return value if isinstance(value, dict) else {"value": value}
    return None


MODEL_FIELDS = ("model", "critic_model")


def settings_json(ctx: Context) -> str:
    """The settings saved with a thread: the Context as JSON, models as specs a later process can
    rebuild (a ChatOpenAI object as 'openai:NAME' plus its base URL; never a key), files with the
    SHA-256 of their content."""
    data: dict[str, Any] = json.loads(ctx.to_json())
    for key in MODEL_FIELDS:
        spec = getattr(ctx, key)
        if isinstance(spec, BaseChatModel):
            data.update(_rebuildable(key, spec))
    for key in ("profile", "seeds"):
        digest = _file_digest(data.get(key))
        if digest:
            data[f"{key}_sha256"] = digest
    return json.dumps(data)


def _rebuildable(key: str, model: BaseChatModel) -> dict[str, Any]:
    """A model object as settings; its base URL without credentials (the settings ride in checkpoint
    and trace metadata), taken whole again from OPENAI_BASE_URL when continued (see saved_context)."""
    name = getattr(model, "model_name", None)
    if class_name(model) == "ChatOpenAI" and isinstance(name, str):
        base_url = getattr(model, "openai_api_base", None)
        return {key: f"openai:{name}", f"{key}_base_url": redact_url(base_url) if base_url else None}
    return {key: None, f"{key}_object": model_name(model)}


def _usable_base_url(thread_id: str, key: str, saved: str) -> str:
    """The base URL to continue with: as saved, or, if its credentials were masked when saved, the
    environment's OPENAI_BASE_URL when that is the same endpoint."""
    if MASK not in saved:
        return saved
    current = os.environ.get("OPENAI_BASE_URL") or ""
    if current and redact_url(current) == saved:
        return current
    raise SpriError(
        f"thread '{thread_id}' ran with a model endpoint whose credentials are not saved ({saved}): "
        f"pass {key}=... again (or set OPENAI_BASE_URL to that endpoint) to continue it"
    )


def _file_digest(value: Any) -> str | None:
    if not isinstance(value, str) or value in ("default", *builtin_profiles()):
        return None
    path = Path(value)
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None


def saved_context(snapshot: Snapshot, overrides: Mapping[str, Any]) -> dict[str, Any]:
    """The thread's saved settings as Context fields (models rebuilt), for continuing it; ``overrides``
    are the options the caller gives again (a model that could not be saved must be among them)."""
    if not snapshot.settings:
        raise SpriError(f"thread '{snapshot.thread_id}' has no saved settings; pass the model and options again")
    data = dict(snapshot.settings)
    for key in MODEL_FIELDS:
        base_url, unsaved = data.pop(f"{key}_base_url", None), data.pop(f"{key}_object", None)
        if overrides.get(key) is not None:
            continue
        if unsaved:
            raise SpriError(
                f"thread '{snapshot.thread_id}' was run with a model object ({unsaved}) that cannot be saved: "
                f"pass {key}=... again to continue it"
            )
        if base_url and isinstance(data.get(key), str):
            base_url = _usable_base_url(snapshot.thread_id, key, base_url)
            data[key] = chat_openai(data[key].removeprefix("openai:"), base_url=base_url, max_tokens=data["max_tokens"])
    for key in ("profile", "seeds"):
        expected = data.pop(f"{key}_sha256", None)
        if expected and overrides.get(key) is None and _file_digest(data.get(key)) not in (expected, None):
            warnings.warn(f"{key} file {data[key]} changed since thread '{snapshot.thread_id}' ran", stacklevel=2)
    return data


def durability_for(saver: Any) -> Durability:
    """ "sync" for savers that outlive the process: every step's checkpoint is stored before the next
    step starts, so a kill loses at most the step in flight. In-memory checkpoints die with the process
    anyway, so they are written in the background ("async") instead of being waited for."""
    return "async" if isinstance(saver, InMemorySaver) else "sync"


def run_config(thread_id: str, ctx: Context, parent: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The run's config: its thread, and metadata that every traced run inherits (the settings, saved
    with each checkpoint). ``parent`` passes a caller's callbacks and tags through (e.g. a server's
    event stream), and under :data:`MODEL_CALLBACKS` handlers that see only the run's model calls."""
    parent = parent or {}
    metadata = {
        **(parent.get("metadata") or {}),
        CONTEXT_KEY: settings_json(ctx),
        "profile": ctx.profile,
        "method": ctx.method,
    }
    config: dict[str, Any] = {
        **thread_config(thread_id),
        "metadata": metadata,
        "run_name": "spri",
        "run_id": uuid.uuid4(),  # the root run's id: LangSmith feedback (spri.feedback) refers to it
    }
    for key in ("callbacks", "tags"):
        if parent.get(key):
            config[key] = parent[key]
    if parent.get(MODEL_CALLBACKS):
        config["configurable"][MODEL_CALLBACKS] = list(parent[MODEL_CALLBACKS])
    return config
