"""The three steps every SPRI stage repeats: draft, judge, refine. Written once, used by both stages.

A stage module supplies a :class:`StageSpec` saying what its prompts see; the factories here turn it
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
from spri.nodes.tracing import annotate
from spri.state import Context, Critique, Profile, Stage, State, load_profile

Variables = Callable[[State, Context, Profile], dict[str, Any]]
Node = Callable[[State, Runtime[Context]], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class StageSpec:
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
    that a verdict merely quoting it is not scored from it (see spri.parsing)."""
    return "\n".join(text for text in (variables.get("input"), variables.get("principles"), draft) if text)


def _writer(spec: StageSpec, step: str) -> Node:
    """The base model's step: a first draft, or (``refine``) a revision of the latest draft that
    continues the drafting conversation with the critic's feedback."""

    async def node(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        ctx = runtime.context
        profile = load_profile(ctx.profile)
        annotate(ctx, stage=spec.name, round=len(state.critiques.get(spec.name, [])) + 1)
        variables = spec.variables(state, ctx, profile)
        messages: list[BaseMessage] = [
            SystemMessage(content=profile.render(spec.name, "system", **spec.stable(state, ctx, profile), **variables)),
            HumanMessage(content=profile.render(spec.name, "draft", **variables)),
        ]
        if step == "refine":
            current, critique = state.current(spec.name), state.last_critique(spec.name)
            assert current is not None and critique is not None, "refine runs only after a judged draft"
            revise = profile.render(spec.name, "refine", **variables, draft=current, feedback=critique.feedback)
            messages += [AIMessage(content=current), HumanMessage(content=revise)]
        if getattr(profile, spec.name).output == "verdict":
            verdict, usage = await models.judge(
                ctx.model,
                messages,
                max_tokens=ctx.max_tokens,
                role="base",
                slot=f"base:{spec.name}",
                untrusted=untrusted_text(variables),
            )
            return {"drafts": {spec.name: [verdict_text(verdict)]}, "usage": {spec.name: usage}}
        grammar = profile.render(spec.name, "grammar", max_chars=(ctx.max_tokens - 16) * 3)
        reply = await models.generate(
            ctx.model, messages, role="base", max_tokens=ctx.max_tokens, grammar=grammar, slot=f"base:{spec.name}"
        )
        return {"drafts": {spec.name: [reply.text]}, "usage": {spec.name: reply.usage}}

    node.__name__ = f"{step}_{spec.name}"
    return node


def verdict_text(verdict: Critique) -> str:
    """A judgment draft in one canonical form, so critics and parsers read every model's alike."""
    if verdict.score is None:
        return verdict.raw
    return f"Feedback: {verdict.feedback}\nScore: {verdict.score}"


def draft(spec: StageSpec) -> Node:
    return _writer(spec, "draft")


def refine(spec: StageSpec) -> Node:
    return _writer(spec, "refine")


def judge(spec: StageSpec) -> Node:
    async def node(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        ctx = runtime.context
        profile = load_profile(ctx.profile)
        variables = spec.variables(state, ctx, profile)
        messages: list[BaseMessage] = [
            SystemMessage(content=profile.render(spec.name, "critic", **variables)),
            HumanMessage(content=profile.render(spec.name, "judge", **variables, draft=state.current(spec.name))),
        ]
        # The draft is outside text too, unless it is a verdict the base model wrote in our own format.
        draft = state.current(spec.name) if getattr(profile, spec.name).output == "text" else None
        critique, usage = await models.judge(
            ctx.critic,
            messages,
            max_tokens=ctx.max_tokens,
            slot=f"critic:{spec.name}",
            untrusted=untrusted_text(variables, draft),
        )
        round_ = len(state.critiques.get(spec.name, [])) + 1
        annotate(ctx, stage=spec.name, round=round_, score=critique.score, expected_score=critique.expected_score)
        return {"critiques": {spec.name: [critique]}, "usage": {spec.name: usage}}

    node.__name__ = f"judge_{spec.name}"
    return node
