"""Optional human review of the principles (Context.review_principles): the run pauses after stage 1
with `interrupt()` and continues with the human's decision, given as `Command(resume=...)`:

- ``"approve"`` / ``True`` / ``{"action": "approve"}`` — keep the principles;
- ``{"action": "edit", "principles": "..."}`` or just the new text — use these instead (recorded as a
  further, unjudged draft of the principles stage).
"""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime
from langgraph.types import interrupt

from spri.state import Context, InputError, State


def read_decision(decision: Any) -> str | None:
    """The edited principles, or None to keep them; anything unreadable is an InputError."""
    if decision is True or (isinstance(decision, str) and decision.strip().lower() in ("approve", "approved", "y")):
        return None
    if isinstance(decision, str) and decision.strip():
        return decision.strip()
    if isinstance(decision, dict):
        action = str(decision.get("action", "approve")).lower()
        if action in ("approve", "approved", "accept"):
            return None
        text = decision.get("principles")
        if action in ("edit", "replace") and isinstance(text, str) and text.strip():
            return text.strip()
    raise InputError(
        "review decision not understood: send 'approve' or {'action': 'edit', 'principles': '...'} "
        f"(got {decision!r})"
    )


async def review_principles(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    current = state.current("principles")
    critique = state.last_critique("principles")
    decision = interrupt(
        {
            "principles": current,
            "score": critique.score if critique else None,
            "feedback": critique.feedback if critique else None,
            "how_to_resume": "approve, or {'action': 'edit', 'principles': '...'}",
        }
    )
    edited = read_decision(decision)
    if edited is None:
        return {"review": "approved"}
    return {"drafts": {"principles": [edited]}, "review": "edited"}
