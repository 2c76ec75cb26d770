"""The first step of every run: check the input, clear what a previous run left on this thread, and
put fixed principles in place for methods that take them from the seeds or the profile."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from spri.nodes.tracing import annotate
from spri.state import Context, InputError, Profile, State, check_input, load_profile, load_seeds, select_seeds

FRESH: dict[str, Any] = {
    "drafts": None,  # None resets the append-only channels (see the reducers in spri.state)
    "critiques": None,
    "usage": None,
    "response": None,
    "rubric": None,
    "score": None,
    "feedback": None,
    "review": None,
    "stop_reason": {},
    "rounds": {},
    "calls": 0,
    "tokens": {},
    "calls_per_stage": {},
    "tokens_per_stage": {},
}


def fixed_principles(state: State, ctx: Context, profile: Profile) -> str | None:
    """Principles a method takes from somewhere other than stage 1 or the input, if any."""
    spec = ctx.spec
    if spec.principles == "generic" and spec.generic:
        return profile.generic_principles(spec.generic, state.category)
    if spec.principles == "seeds":
        seeds = load_seeds(ctx.seeds, ctx.profile, ctx.seed_fields)
        matching = select_seeds(seeds, "category", state.category) if state.category else ()
        if not matching:
            have = sorted({s.category for s in seeds if s.category})
            raise InputError(
                f"method '{ctx.method}' needs a seed example of the input's category "
                f"(got {state.category!r}; the seeds have: {', '.join(have) or 'no categories'})"
            )
        return matching[0].principles
    return None


async def begin(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    ctx = runtime.context
    profile = load_profile(ctx.profile)
    annotate(ctx)
    check_input(state, ctx.spec, profile)
    principles = fixed_principles(state, ctx, profile)
    return {**FRESH, "principles": principles} if principles else FRESH
