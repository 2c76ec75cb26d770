"""The first step of every run: check the input, clear what a previous run left on this thread, and
put fixed principles in place for methods that take them from the seeds or the profile."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from spri.nodes.profiles import load_profile, load_seeds, select_seeds
from spri.nodes.tracing import annotate
from spri.state import Context, Input, InputError, Profile, State, check_input


def _cleared() -> dict[str, Any]:
    """Every channel a run writes, back to empty, so a new query on an existing thread starts clean.
    Channels with a reducer are cleared with None (see spri.state); the others get their default.
    Input fields are not touched: the new input sets all of them."""
    return {
        name: None if any(callable(m) for m in field.metadata) else field.get_default(call_default_factory=True)
        for name, field in State.model_fields.items()
        if name not in Input.model_fields
    }


FRESH = _cleared()


def fixed_principles(state: State, ctx: Context, profile: Profile) -> str | None:
    """Principles a method takes from somewhere other than stage 1 or the input, if any."""
    plan = ctx.plan
    if plan.principles == "generic" and plan.generic:
        return profile.generic_principles(plan.generic, state.category)
    if plan.principles == "seeds":
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
    check_input(state, ctx.plan, profile)
    principles = fixed_principles(state, ctx, profile)
    return {**FRESH, "principles": principles} if principles else FRESH
