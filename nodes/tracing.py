"""What the nodes add to their LangSmith runs."""

from __future__ import annotations

from typing import Any

from langsmith.run_helpers import get_current_run_tree

from spri.state import Context


def annotate(ctx: Context, **metadata: Any) -> None:
    """Add metadata to this node's LangSmith run (profile, method, stage, round, score, ...) when
    tracing is on; a no-op otherwise."""
    run = get_current_run_tree()
    if run is not None:
        values = {"profile": ctx.profile, "method": ctx.method, **metadata}
        run.add_metadata({k: v for k, v in values.items() if v is not None})
