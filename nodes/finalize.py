"""The output: final principles and response, why each stage stopped, and what the run spent."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from spri.nodes.profiles import load_profile
from spri.nodes.tracing import annotate
from spri.state import STAGES, Context, Stage, State, StopReason, Usage, model_name, stop_reason


def _stop_reason(state: State, ctx: Context, stage: Stage) -> StopReason | None:
    critiques = state.critiques.get(stage, [])
    if critiques:
        return stop_reason(critiques, ctx.min_score, ctx.max_rounds)
    if stage == "principles":
        return "given" if ctx.plan.principles in ("input", "seeds", "generic") else None
    return "not_judged" if state.drafts.get(stage) else None


def _tokens(usage: Usage) -> dict[str, int]:
    return {
        "input": usage.input_tokens,
        "output": usage.output_tokens,
        "total": usage.input_tokens + usage.output_tokens,
    }


async def finalize(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    ctx = runtime.context
    usage = {stage: state.usage[stage] for stage in STAGES if stage in state.usage}
    total = sum(usage.values(), Usage())
    reasons = {stage: _stop_reason(state, ctx, stage) for stage in STAGES}
    annotate(ctx, stop_reason=",".join(f"{stage}:{reason}" for stage, reason in reasons.items() if reason))
    principles = state.principles_used(ctx.plan)
    judgment: dict[str, Any] = {}
    verdicts = state.verdicts.get("response")
    if load_profile(ctx.profile).response.output == "verdict" and verdicts:
        judgment = {"rubric": principles, "score": verdicts[-1].score, "feedback": verdicts[-1].feedback}
    return {
        **judgment,
        "profile": ctx.profile,
        "method": ctx.method,
        "models": {"base": model_name(ctx.model), "critic": model_name(ctx.critic)},
        "principles": principles,
        "response": state.current("response"),
        "stop_reason": {stage: reason for stage, reason in reasons.items() if reason},
        "rounds": {stage: state.round(stage) for stage in STAGES},
        "calls": total.calls,
        "tokens": _tokens(total),
        "calls_per_stage": {stage: u.calls for stage, u in usage.items()},
        "tokens_per_stage": {stage: _tokens(u) for stage, u in usage.items()},
    }
