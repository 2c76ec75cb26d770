"""Stage 1: principles written for this one input, judged by the critic and refined until accepted."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from spri.nodes import loop, speculation
from spri.nodes.profiles import load_seeds, select_seeds
from spri.state import Context, Profile, Seed, State


def _examples(state: State, ctx: Context, profile: Profile) -> dict[str, Any]:
    """Seed examples for the system message: the same for every input of a category, so it caches. With
    them, each example's request alone (``example_requests``), for models that choose among them."""
    seeds = select_seeds(load_seeds(ctx.seeds, ctx.profile, ctx.seed_fields), ctx.seed_policy, state.category)
    return {"examples": _rendered(profile, seeds), "example_requests": [seed.inputs["query"] for seed in seeds]}


@lru_cache(maxsize=256)
def _rendered(profile: Profile, seeds: tuple[Seed, ...]) -> list[str]:
    """Each seed through the profile's example template, which sees the seed's fields by name (None
    where the seed has none), ``input`` (their labelled block) and ``principles``."""
    names = {f.name: None for f in profile.fields}
    return [
        profile.render(
            "principles",
            "example",
            **{**names, **seed.inputs},
            input=profile.input_block(seed.inputs, "principles"),
            principles=seed.principles,
        )
        for seed in seeds
    ]


def _variables(state: State, ctx: Context, profile: Profile) -> dict[str, Any]:
    return loop.input_variables(state, profile, "principles")


STAGE = loop.StageInputs(name="principles", stable=_examples, variables=_variables)

draft_principles = loop.draft(STAGE)
judge_principles = speculation.calling_off(loop.judge(STAGE))
refine_principles = loop.refine(STAGE)
