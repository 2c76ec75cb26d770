"""The output: final principles and response, why each stage stopped, and what the run spent."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from spri.nodes.profiles import plan_of, profile_of
from spri.nodes.speculation import wasted_usage
from spri.nodes.tracing import annotate
from spri.state import STAGES, Context, MethodPlan, Stage, State, StopReason, Usage, model_name, stop_reason
from spri.state.state import add_counts


def _stop_reason(state: State, ctx: Context, plan: MethodPlan, stage: Stage) -> StopReason | None:
    critiques = state.critiques.get(stage, [])
    if critiques:
        unreadable = plan.unreadable if stage == "response" else "stop"
        return stop_reason(critiques, ctx.min_score, ctx.max_rounds, unreadable)
    if stage == "principles":
        return None if plan.principles in ("draft", "none") else "given"
    return "not_judged" if state.drafts.get(stage) else None


def _tokens(usage: Usage) -> dict[str, int]:
    return {
        "input": usage.input_tokens,
        "output": usage.output_tokens,
        "total": usage.input_tokens + usage.output_tokens,
    }


def _not_yet_per_role(state: State) -> dict[str, int]:
    """Calls by role that the ``calls_per_role`` channel does not hold: both roles named (0 if unused),
    a pending speculation's (the base model's), and on a thread saved before that channel had its name,
    the calls made before (``role_calls``, ``speculative_waste``)."""
    missing = {"base": 0, "critic": 0, **state.role_calls}
    missing["base"] += wasted_usage(state).calls - Usage.model_validate(state.speculative_wasted_usage).calls
    return missing


def _judgment(state: State, ctx: Context, principles: str | None) -> dict[str, Any]:
    """Judgment profiles: the rubric used and the final judgment's score and feedback."""
    verdicts = state.verdicts.get("response")
    if profile_of(ctx).response.output != "verdict" or not verdicts:
        return {}
    final = verdicts[-1]
    return {
        "rubric": principles,
        "score": final.score,
        "feedback": final.feedback,
        "expected_score": final.expected_score,
    }


def spending(state: State) -> dict[str, Any]:
    """What the run has spent so far, as Output fields: calls, cache hits and tokens, in total, per stage
    and per role, and those of discarded speculative drafts. Read from the usage channels, which every
    node adds to as it finishes, so it is exact for a finished run and for one stopped part-way."""
    usage = {stage: state.usage[stage] for stage in STAGES if stage in state.usage}
    wasted = wasted_usage(state)
    total = sum(usage.values(), wasted)
    return {
        "calls": total.calls,
        "cache_hits": total.cache_hits,
        "tokens": _tokens(total),
        "calls_per_stage": {stage: u.calls for stage, u in usage.items()},
        "calls_per_role": add_counts(state.calls_per_role, _not_yet_per_role(state)),
        "tokens_per_stage": {stage: _tokens(u) for stage, u in usage.items()},
        "speculative_wasted": wasted.calls,
        "speculative_wasted_tokens": _tokens(wasted) if wasted.calls else {},
    }


async def finalize(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    ctx = runtime.context
    plan = plan_of(ctx)
    reasons = {stage: _stop_reason(state, ctx, plan, stage) for stage in STAGES}
    annotate(ctx, stop_reason=",".join(f"{stage}:{reason}" for stage, reason in reasons.items() if reason))
    principles = "\n\n".join(state.sequence) if state.sequence else state.principles_used(plan)
    return {
        **_judgment(state, ctx, principles),
        "profile": ctx.profile,
        "method": ctx.method,
        "models": {"base": model_name(ctx.model), "critic": model_name(ctx.critic)},
        "principles": principles,
        "response": state.current("response"),
        "stop_reason": {stage: reason for stage, reason in reasons.items() if reason},
        "rounds": {stage: state.round(stage) for stage in STAGES},
        **spending(state),
        "calls_per_role": _not_yet_per_role(state),  # added to the channel by its reducer
    }
