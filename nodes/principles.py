"""Stage 1: principles written for this one input, judged by the critic and refined until accepted."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from spri.nodes import loop, speculation
from spri.nodes.profiles import load_seeds, select_seeds, with_released_seeds
from spri.nodes.response import write_response
from spri.state import Context, Profile, Seed, State
from spri.state.profile import PromptParts
from spri.state.state import TEMPLATE_FIELDS


def _examples(state: State, ctx: Context, profile: Profile) -> PromptParts:
    """Seed examples for the system message: the same for every input of a category, so it caches. With
    them, each example's request alone (``example_requests``), for models that choose among them."""
    settled = with_released_seeds(ctx)  # the paper's profiles: the paper's seeds
    seeds = select_seeds(load_seeds(settled.seeds, ctx.profile, ctx.seed_fields), settled.seed_policy, state.category)
    return {
        "examples": _rendered(profile, seeds),
        "example_requests": [seed.inputs.get("query") or "" for seed in seeds],
    }


@lru_cache(maxsize=256)
def _rendered(profile: Profile, seeds: tuple[Seed, ...]) -> list[str]:
    """Each seed through the profile's example template, which sees the seed's fields by name (None
    where the seed has none), ``input`` (their labelled block) and ``principles`` (and an empty ``conversation``)."""
    names: dict[str, Any] = {f.name: None for f in profile.fields}
    names.update({name: None for name in TEMPLATE_FIELDS})
    return [
        profile.render(
            "principles",
            "example",
            fields={**names, **{k: v for k, v in seed.inputs.items() if k in names}},
            input=profile.input_block(seed.inputs, "principles"),
            conversation="",
            principles=seed.principles,
        )
        for seed in seeds
    ]


def _variables(state: State, ctx: Context, profile: Profile) -> PromptParts:
    return loop.input_block(state, ctx, profile, "principles")


STAGE = loop.StageInputs(name="principles", stable=_examples, variables=_variables)

draft_principles = loop.draft(STAGE)
judge_principles = speculation.judging_beside_speculation(loop.judge(STAGE), write_response)
refine_principles = loop.refine(STAGE)
