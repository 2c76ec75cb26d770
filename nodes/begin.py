"""The first step of every run: check the input, clear what a previous run left on this thread, and
put fixed principles in place for methods that take them from the seeds or the profile."""

from __future__ import annotations

import random
import re
from collections.abc import Iterable
from typing import Any

from langgraph.runtime import Runtime

from spri.nodes.profiles import load_seeds, plan_of, profile_of, select_seeds, with_released_seeds
from spri.nodes.tracing import annotate
from spri.state import Context, Input, InputError, MethodPlan, Profile, Seed, State, check_input


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


def _of_category(seeds: tuple[Seed, ...], category: str | None) -> int:
    """The position of the first seed of ``category`` (case-insensitive), or -1."""
    wanted = (category or "").strip().lower()
    return next((i for i, s in enumerate(seeds) if wanted and (s.category or "").strip().lower() == wanted), -1)


def _from_seeds(state: State, ctx: Context, plan: MethodPlan) -> list[str]:
    """The principles a seed-based method applies, in order (one item unless a sequence)."""
    ctx = with_released_seeds(ctx)  # the paper's profiles: the paper's seeds
    seeds = load_seeds(ctx.seeds, ctx.profile, ctx.seed_fields)
    if plan.principles in ("seeds", "seed-sequence"):
        found = _of_category(seeds, state.category)
        if found < 0:
            have = sorted({s.category for s in seeds if s.category})
            raise InputError(
                f"method '{ctx.method}' needs a seed example of the input's category "
                f"(got {state.category!r}; the seeds have: {', '.join(have) or 'no categories'})"
            )
        chosen = seeds[: found + 1] if plan.principles == "seed-sequence" else seeds[found : found + 1]
        return [s.principles for s in chosen]
    selected = select_seeds(seeds, ctx.seed_policy, state.category)
    if not selected:
        raise InputError(f"method '{ctx.method}' needs seed examples (the seeds and seed policy leave none)")
    if plan.principles == "seed-random":  # one per input, the same for the same seed and input
        return [random.Random(f"{ctx.random_pick}\n{state.query}").choice(selected).principles]
    return [rule_list(s.principles for s in selected)]


_LIST_ITEM = re.compile(r"^\s*(?:\d{1,3}[.):]|[-*\u2022])\s+")


def rule_list(principles: Iterable[str]) -> str:
    """Principles as one numbered rule list, ``N: rule`` (as the paper lists its seed principles): a
    principle written as a list of its own gives one rule per item, so lists never nest (``1. 1. ...``)."""
    rules: list[str] = []
    for text in principles:
        lines = [line for line in text.strip().splitlines() if line.strip()]
        if len(lines) > 1 and all(_LIST_ITEM.match(line) for line in lines):
            rules += [_LIST_ITEM.sub("", line).strip() for line in lines]
        elif lines:
            rules.append(text.strip())
    return "\n".join(f"{number}: {rule}" for number, rule in enumerate(rules, 1))


def fixed_principles(state: State, ctx: Context, profile: Profile, plan: MethodPlan) -> list[str]:
    """Principles a method takes from somewhere other than stage 1 or the input (in the order they
    are applied), if any."""
    if plan.principles == "generic" and plan.generic:
        return [profile.generic_principles(plan.generic, state.category)]
    if plan.principles in ("seeds", "seed-random", "seed-list", "seed-sequence"):
        return _from_seeds(state, ctx, plan)
    return []


async def begin(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    ctx = runtime.context
    profile, plan = profile_of(ctx), plan_of(ctx)
    annotate(ctx)
    check_input(state, plan, profile, ctx.protocol)
    principles = fixed_principles(state, ctx, profile, plan)
    if not principles:
        return FRESH
    sequence = principles if plan.principles == "seed-sequence" else []
    return {**FRESH, "principles": principles[0], "sequence": sequence}
