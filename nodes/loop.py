"""The three steps every SPRI stage repeats: draft, judge, refine. Written once, used by both stages.

A stage module supplies :class:`StageInputs` saying what its prompts see; the factories here turn it
into LangGraph nodes ``(state, runtime) -> update``. Updates hold plain JSON-like values
(models dumped), so checkpoints never carry project classes. Prompts are built stable-part first: the system
message (role, rules, seed examples, or the critic's scale) is identical across inputs and rounds,
and refinement continues the drafting conversation (or, where the profile gives refinement a system
message of its own, starts one with it), so prefix caches of providers and llama.cpp hit.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langgraph.runtime import Runtime

from spri import models
from spri.nodes.profiles import plan_of, profile_of
from spri.nodes.tracing import annotate
from spri.state import Context, MethodPlan, ModelSpec, Profile, Stage, StagePrompts, State, Usage

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
    follows_plan: bool = False
    """The method's row shapes this stage: its template variant (``prompts``) and who judges it."""

    def variant(self, plan: MethodPlan) -> str:
        return plan.prompts if self.follows_plan else ""

    def judge(self, ctx: Context, plan: MethodPlan) -> tuple[ModelSpec, str]:
        """The model that judges this stage's drafts and its role: the critic, or the base model
        judging itself where the method says so."""
        if self.follows_plan and plan.critic == "base":
            return ctx.model, "base"
        return ctx.critic, "critic"


def input_variables(state: State, profile: Profile, stage: Stage) -> dict[str, Any]:
    """The input as prompt variables: each field by name (None when not given), plus ``input``, the
    stage's labelled block."""
    values: dict[str, Any] = {f.name: None for f in profile.fields}
    values.update(state.extra)
    for name in ("query", "goal", "reference", "response_to_judge", "category"):
        values[name] = getattr(state, name)
    return {**values, "input": profile.input_block(values, stage)}


def untrusted_text(variables: dict[str, Any], draft: str | None = None) -> str:
    """What a stage's prompt shows from outside (its input fields, the principles, the draft), so
    that a verdict merely quoting it is not scored from it (see spri.models.parsing)."""
    return "\n".join(text for text in (variables.get("input"), variables.get("principles"), draft) if text)


def _messages(system: str, *turns: str) -> list[BaseMessage]:
    """A conversation: the system message (left out when empty), then user and assistant turns."""
    messages: list[BaseMessage] = [SystemMessage(content=system)] if system else []
    for index, text in enumerate(turns):
        messages.append(HumanMessage(content=text) if index % 2 == 0 else AIMessage(content=text))
    return messages


def _writer_messages(
    stage: StageInputs, state: State, ctx: Context, profile: Profile, variables: dict[str, Any], refine: bool
) -> list[BaseMessage]:
    variant = stage.variant(plan_of(ctx))

    def render(step: str, **extra: Any) -> str:
        return profile.render(stage.name, step, variant, **variables, **extra)

    system = render("system", **stage.stable(state, ctx, profile))
    if not refine:
        return _messages(system, render("draft"))
    current = state.current(stage.name)
    assert current is not None, "refine runs only after a draft"
    revise = render("refine", draft=current, feedback=state.next_feedback(stage.name))
    own_system = render("refine_system", draft=current)
    if own_system:  # a refinement conversation of its own
        return _messages(own_system, revise)
    return _messages(system, render("draft"), current, revise)


def _site(
    stage: StageInputs, step: models.Step, role: str, state: State, ctx: Context, variables: dict[str, Any]
) -> models.CallSite:
    """Where a call is made, for models that tune their calls to it (others never see it)."""
    profile = profile_of(ctx)
    return models.CallSite(
        role=role,
        max_tokens=ctx.max_tokens,
        stage=stage.name,
        step=step,
        state=state,
        profile=profile,
        variant=stage.variant(plan_of(ctx)),
        variables=variables,
        stable=lambda: stage.stable(state, ctx, profile),
    )


def _reading(prompts: StagePrompts, *, judgment: bool) -> models.Reading:
    """How a verdict of this stage is asked for and read: a judgment draft or a critique."""
    if judgment:
        return models.Reading(prompts.structured, prompts.decimals, prompts.reminder)
    return models.Reading(prompts.structured, False, prompts.critic_reminder)


def _spent(stage: Stage, role: str, usage: Usage) -> dict[str, Any]:
    return {"usage": {stage: usage.model_dump()}, "role_calls": {role: usage.calls}}


def _writer(stage: StageInputs, step: Literal["draft", "refine"]) -> Node:
    """The base model's step: a first draft, or (``refine``) a revision of the latest draft with the
    critic's feedback, the next principle of a sequence, or the profile's fixed request."""

    async def node(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        ctx = runtime.context
        profile = profile_of(ctx)
        prompts = profile.stage(stage.name)
        annotate(ctx, stage=stage.name, round=state.round(stage.name) + 1)
        variables = stage.variables(state, ctx, profile)
        messages = _writer_messages(stage, state, ctx, profile, variables, refine=step == "refine")
        model = models.for_call(ctx.model, _site(stage, step, "base", state, ctx, variables))
        if prompts.output == "verdict":
            verdict, usage = await models.verdict(
                model,
                messages,
                max_tokens=ctx.max_tokens,
                role="base",
                untrusted=untrusted_text(variables),
                reading=_reading(prompts, judgment=True),
            )
            return {
                "drafts": {stage.name: [verdict.as_text()]},
                "verdicts": {stage.name: [verdict.model_dump()]},
                **_spent(stage.name, "base", usage),
            }
        reply = await models.generate(model, messages, role="base", max_tokens=ctx.max_tokens)
        return {"drafts": {stage.name: [reply.text]}, **_spent(stage.name, "base", reply.usage)}

    node.__name__ = f"{step}_{stage.name}"
    return node


def draft(stage: StageInputs) -> Node:
    return _writer(stage, "draft")


def refine(stage: StageInputs) -> Node:
    return _writer(stage, "refine")


def judge(stage: StageInputs) -> Node:
    async def node(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        ctx = runtime.context
        profile = profile_of(ctx)
        plan = plan_of(ctx)
        prompts = profile.stage(stage.name)
        variables = stage.variables(state, ctx, profile)
        variant, current = stage.variant(plan), state.current(stage.name)
        messages = _messages(
            profile.render(stage.name, "critic", variant, **variables),
            profile.render(stage.name, "judge", variant, **variables, draft=current),
        )
        # The draft is outside text too, unless it is a verdict the base model wrote in our own format.
        draft = current if prompts.output == "text" else None
        spec, role = stage.judge(ctx, plan)
        critique, usage = await models.verdict(
            models.for_call(spec, _site(stage, "judge", role, state, ctx, variables)),
            messages,
            max_tokens=ctx.max_tokens,
            role=role,
            untrusted=untrusted_text(variables, draft),
            reading=_reading(prompts, judgment=False),
        )
        round_ = state.round(stage.name) + 1
        annotate(ctx, stage=stage.name, round=round_, score=critique.score, expected_score=critique.expected_score)
        return {
            "critiques": {stage.name: [critique.model_dump()]},
            "rounds": {stage.name: round_},
            **_spent(stage.name, role, usage),
        }

    node.__name__ = f"judge_{stage.name}"
    return node
