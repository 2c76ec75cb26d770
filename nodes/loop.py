"""The three steps every SPRI stage repeats: draft, judge, refine. Written once, used by both stages.

A stage module supplies :class:`StageInputs` saying what its prompts see; the factories here turn it
into LangGraph nodes ``(state, runtime) -> update``. Prompts are built stable-part first: the system
message (role, rules, seed examples, or the critic's scale) is identical across inputs and rounds,
and refinement continues the drafting conversation, so prefix caches of providers and llama.cpp hit.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langgraph.runtime import Runtime

from spri import models
from spri.nodes.profiles import load_profile
from spri.nodes.tracing import annotate
from spri.state import Context, Profile, Stage, State

Variables = Callable[[State, Context, Profile], dict[str, Any]]
Node = Callable[[State, Runtime[Context]], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class StageInputs:
    """What one stage's prompts see."""

    name: Stage
    stable: Variables
    """Variables of the stable prefix (the system and critic messages), e.g. seed examples."""
    variables: Variables
    """Variables of the per-input messages: the input fields, and principles where the stage uses them."""


def input_variables(state: State, profile: Profile, stage: Stage) -> dict[str, Any]:
    """The input as prompt variables: each field by name, plus ``input``, the stage's labelled block."""
    values: dict[str, Any] = {**state.extra}
    for name in ("query", "goal", "reference", "response_to_judge", "category"):
        values[name] = getattr(state, name)
    return {**values, "input": profile.input_block(values, stage)}


def untrusted_text(variables: dict[str, Any], draft: str | None = None) -> str:
    """What a stage's prompt shows from outside (its input fields, the principles, the draft), so
    that a verdict merely quoting it is not scored from it (see spri.models.parsing)."""
    return "\n".join(text for text in (variables.get("input"), variables.get("principles"), draft) if text)


def _writer_messages(
    stage: StageInputs, state: State, ctx: Context, profile: Profile, variables: dict[str, Any], refine: bool
) -> list[BaseMessage]:
    system = profile.render(stage.name, "system", **stage.stable(state, ctx, profile), **variables)
    messages: list[BaseMessage] = [
        SystemMessage(content=system),
        HumanMessage(content=profile.render(stage.name, "draft", **variables)),
    ]
    if refine:
        current, critique = state.current(stage.name), state.last_critique(stage.name)
        assert current is not None and critique is not None, "refine runs only after a judged draft"
        revise = profile.render(stage.name, "refine", **variables, draft=current, feedback=critique.feedback)
        messages += [AIMessage(content=current), HumanMessage(content=revise)]
    return messages


def _writer(stage: StageInputs, step: str) -> Node:
    """The base model's step: a first draft, or (``refine``) a revision of the latest draft that
    continues the drafting conversation with the critic's feedback."""

    async def node(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        ctx = runtime.context
        profile = load_profile(ctx.profile)
        annotate(ctx, stage=stage.name, round=state.round(stage.name) + 1)
        variables = stage.variables(state, ctx, profile)
        messages = _writer_messages(stage, state, ctx, profile, variables, refine=step == "refine")
        slot = f"base:{stage.name}"
        if profile.stage(stage.name).output == "verdict":
            untrusted = untrusted_text(variables)
            verdict, usage = await models.verdict(
                ctx.model, messages, max_tokens=ctx.max_tokens, role="base", slot=slot, untrusted=untrusted
            )
            return {
                "drafts": {stage.name: [verdict.as_text()]},
                "verdicts": {stage.name: [verdict]},
                "usage": {stage.name: usage},
            }
        grammar = profile.render(stage.name, "grammar", max_chars=(ctx.max_tokens - 16) * 3)
        reply = await models.generate(
            ctx.model, messages, role="base", max_tokens=ctx.max_tokens, grammar=grammar, slot=slot
        )
        return {"drafts": {stage.name: [reply.text]}, "usage": {stage.name: reply.usage}}

    node.__name__ = f"{step}_{stage.name}"
    return node


def draft(stage: StageInputs) -> Node:
    return _writer(stage, "draft")


def refine(stage: StageInputs) -> Node:
    return _writer(stage, "refine")


def judge(stage: StageInputs) -> Node:
    async def node(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        ctx = runtime.context
        profile = load_profile(ctx.profile)
        variables = stage.variables(state, ctx, profile)
        messages: list[BaseMessage] = [
            SystemMessage(content=profile.render(stage.name, "critic", **variables)),
            HumanMessage(content=profile.render(stage.name, "judge", **variables, draft=state.current(stage.name))),
        ]
        # The draft is outside text too, unless it is a verdict the base model wrote in our own format.
        draft = state.current(stage.name) if profile.stage(stage.name).output == "text" else None
        critique, usage = await models.verdict(
            ctx.critic,
            messages,
            max_tokens=ctx.max_tokens,
            slot=f"critic:{stage.name}",
            untrusted=untrusted_text(variables, draft),
        )
        round_ = state.round(stage.name) + 1
        annotate(ctx, stage=stage.name, round=round_, score=critique.score, expected_score=critique.expected_score)
        return {"critiques": {stage.name: [critique]}, "rounds": {stage.name: round_}, "usage": {stage.name: usage}}

    node.__name__ = f"judge_{stage.name}"
    return node
