"""What the nodes tell the outside world as they go: metadata on their LangSmith runs, and a `custom`
stream event per step (``stream_mode="custom"``) so a UI can show "principles, round 2, score 3/5"
without parsing node updates."""

from __future__ import annotations

from typing import Any

from langgraph.config import get_config, get_stream_writer
from langsmith.run_helpers import get_current_run_tree

from spri.state import Context

EVENT_FIELDS = ("stage", "step", "round", "score", "stop_reason")


def annotate(ctx: Context, **metadata: Any) -> None:
    """Add metadata to this node's LangSmith run (profile, method, stage, round, score, ...) when
    tracing is on, and emit the step as a custom stream event."""
    describe(ctx, **metadata)
    emit(**metadata)


def describe(ctx: Context, **metadata: Any) -> None:
    """Add metadata to this node's LangSmith run when tracing is on (no stream event)."""
    run = get_current_run_tree()
    if run is not None:
        values = {"profile": ctx.profile, "method": ctx.method, **metadata}
        run.add_metadata({k: v for k, v in values.items() if v is not None})


def emit(**metadata: Any) -> None:
    """``{"stage", "step", "round", "score", "stop_reason"}`` for the running node (``step`` is the
    node's verb: begin, draft, judge, refine, review, finalize; ``stop_reason`` a dict per stage)."""
    try:
        writer = get_stream_writer()
        node = str((get_config().get("metadata") or {}).get("langgraph_node") or "")
    except RuntimeError:  # not inside a graph run
        return
    event: dict[str, Any] = {key: metadata.get(key) for key in EVENT_FIELDS}
    event["step"] = node.split("_", 1)[0] or None
    if isinstance(event["stop_reason"], str):  # "principles:accepted,response:max_rounds"
        event["stop_reason"] = dict(part.split(":", 1) for part in event["stop_reason"].split(",") if ":" in part)
    writer(event)
