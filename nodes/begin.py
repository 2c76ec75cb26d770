"""The first step of every run: check the input and clear what a previous run left on this thread."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from spri.state import Context, State, check_input, load_profile

FRESH: dict[str, Any] = {
    "drafts": None,  # None resets the append-only channels (see the reducers in spri.state)
    "critiques": None,
    "usage": None,
    "response": None,
    "stop_reason": {},
    "rounds": {},
    "calls": 0,
    "tokens": {},
    "calls_per_stage": {},
    "tokens_per_stage": {},
}


async def begin(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    ctx = runtime.context
    check_input(state, ctx.spec.needs_principles, load_profile(ctx.profile))
    return FRESH
