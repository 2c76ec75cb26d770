"""The output: final principles and response, why each stage stopped, and what the run spent."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from spri.nodes.tracing import annotate
from spri.parsing import parse_critique
from spri.state import STAGES, Context, State, StopReason, load_profile, model_name, stop_reason


def _stop_reason(state: State, ctx: Context, stage: str) -> StopReason | None:
    critiques = state.critiques.get(stage, [])
    if critiques:
        return stop_reason(critiques, ctx.min_score, ctx.max_rounds)
    if stage == "principles":
        return "given" if ctx.spec.principles in ("input", "seeds", "generic") else None
    return "not_judged" if state.drafts.get(stage) else None


async def finalize(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    ctx = runtime.context
    usage = {stage: state.usage[stage] for stage in STAGES if stage in state.usage}
    reasons = {stage: _stop_reason(state, ctx, stage) for stage in STAGES}
    input_tokens = sum(u.input_tokens for u in usage.values())
    output_tokens = sum(u.output_tokens for u in usage.values())
    annotate(ctx, stop_reason=",".join(f"{stage}:{reason}" for stage, reason in reasons.items() if reason))
    judgment = {}
    if load_profile(ctx.profile).response.output == "verdict" and state.current("response"):
        verdict = parse_critique(state.current("response") or "")
        rubric = state.final_principles() if ctx.spec.principles != "none" else None
        judgment = {"rubric": rubric, "score": verdict.score, "feedback": verdict.feedback}
    return {
        **judgment,
        "profile": ctx.profile,
        "method": ctx.method,
        "models": {"base": model_name(ctx.model), "critic": model_name(ctx.critic)},
        "principles": state.final_principles() if ctx.spec.principles != "none" else None,
        "response": state.current("response"),
        "stop_reason": {stage: reason for stage, reason in reasons.items() if reason},
        "rounds": {stage: len(state.critiques.get(stage, [])) for stage in STAGES},
        "calls": sum(u.calls for u in usage.values()),
        "tokens": {"input": input_tokens, "output": output_tokens, "total": input_tokens + output_tokens},
        "calls_per_stage": {stage: u.calls for stage, u in usage.items()},
        "tokens_per_stage": {
            stage: {"input": u.input_tokens, "output": u.output_tokens, "total": u.input_tokens + u.output_tokens}
            for stage, u in usage.items()
        },
    }
