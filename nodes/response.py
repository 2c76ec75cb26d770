"""Stage 2: the response, written to follow the principles, judged for adherence and refined (or, as
the method's row says, written once, refined in fixed passes, or judged by the base model itself)."""

from __future__ import annotations

from spri.nodes import loop, speculation
from spri.nodes.profiles import plan_of
from spri.state import Context, Profile, State
from spri.state.profile import PromptParts


def _no_stable_variables(state: State, ctx: Context, profile: Profile) -> PromptParts:
    return {}


def _variables(state: State, ctx: Context, profile: Profile) -> PromptParts:
    """The input and, where the method uses them, the principles (stage 1's or the given ones)."""
    return {**loop.input_block(state, ctx, profile, "response"), "principles": state.principles_used(plan_of(ctx))}


STAGE = loop.StageInputs(name="response", stable=_no_stable_variables, variables=_variables, follows_plan=True)

write_response = loop.draft(STAGE)
"""The response's first draft, as ``draft_response`` writes it when no speculation can be used (and as
the speculation beside ``judge_principles`` writes it)."""
draft_response = speculation.adopting(write_response)
judge_response = loop.judge(STAGE)
refine_response = loop.refine(STAGE)
