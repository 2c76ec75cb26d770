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
from dataclasses import dataclass, replace
from typing import Any, Literal, Protocol

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langgraph.runtime import Runtime

from spri import models
from spri.nodes.profiles import plan_of, profile_of
from spri.nodes.tracing import annotate
from spri.state import Context, Critique, MethodPlan, ModelSpec, Profile, Stage, StagePrompts, State, Usage
from spri.state.conversation import bounded
from spri.state.profile import PromptParts
from spri.state.rendering import Own, Shown
from spri.state.state import TEMPLATE_FIELDS

Parts = Callable[[State, Context, Profile], PromptParts]


class Node(Protocol):
    """A node of the SPRI graph: ``async (state, runtime) -> update``."""

    def __call__(self, state: State, runtime: Runtime[Context]) -> Awaitable[dict[str, Any]]: ...


@dataclass(frozen=True)
class StageInputs:
    """What one stage's prompts see besides the input fields."""

    name: Stage
    stable: Parts
    """Parts of the stable prefix (the system and critic messages), e.g. seed examples."""
    variables: Parts
    """Parts of the per-input messages: the input block, and principles where the stage uses them."""
    follows_plan: bool = False
    """The method's row shapes this stage: its template variant (``prompts``) and who judges it."""

    def variant(self, plan: MethodPlan) -> str:
        return plan.prompts if self.follows_plan else ""

    def reading(self, plan: MethodPlan) -> str:
        """How the method says this stage's critiques are read ('' = as the profile says)."""
        return plan.reading if self.follows_plan else ""

    def judge(self, ctx: Context, plan: MethodPlan) -> tuple[ModelSpec, str]:
        """The model that judges this stage's drafts and its role: the critic, or the base model
        judging itself where the method says so."""
        if self.follows_plan and plan.critic == "base":
            return ctx.model, "base"
        return ctx.critic, "critic"


def input_fields(state: State, profile: Profile) -> dict[str, Any]:
    """The input fields as templates see them, by name: each field the profile declares (None when not
    given) and the named input fields. Input never names anything else: a field the profile did not
    declare was refused before the run (``check_input``), and no declared field may take a name the
    templates use for the profile's own text."""
    values: dict[str, Any] = {f.name: None for f in profile.fields}
    values.update({name: text for name, text in state.extra.items() if name in values})
    values.update({name: getattr(state, name) for name in TEMPLATE_FIELDS})
    return values


def input_block(state: State, ctx: Context, profile: Profile, stage: Stage) -> PromptParts:
    """The stage's labelled input block, ``input``, and the conversation before the query, bounded."""
    return {
        "input": profile.input_block(input_fields(state, profile), stage),
        "conversation": bounded(state.earlier_turns(), ctx.conversation_chars),
    }


@dataclass(frozen=True)
class _Templates:
    """One stage's templates with everything they are shown, for one node."""

    profile: Profile
    stage: StageInputs
    variant: str
    fields: dict[str, Any]
    parts: PromptParts

    @classmethod
    def of(cls, stage: StageInputs, state: State, ctx: Context) -> _Templates:
        profile = profile_of(ctx)
        variant = stage.variant(plan_of(ctx))
        return cls(profile, stage, variant, input_fields(state, profile), stage.variables(state, ctx, profile))

    def __call__(self, step: str, **parts: Any) -> Shown:
        return self.profile.shown(self.stage.name, step, self.variant, self.fields, **{**self.parts, **parts})


def _messages(system: Shown, *turns: Shown) -> tuple[list[BaseMessage], Shown]:
    """A conversation: the system message (left out when empty), then user and assistant turns; and
    all it shows, with what came from outside."""
    messages: list[BaseMessage] = [SystemMessage(content=system.text)] if system.text else []
    for index, turn in enumerate(turns):
        messages.append(HumanMessage(content=turn.text) if index % 2 == 0 else AIMessage(content=turn.text))
    return messages, Shown.join([system, *turns] if system.text else turns)


def _draft(prompts: StagePrompts, text: str) -> str:
    """A draft as templates show it: a judgment the base model wrote in the verdict format is the
    project's own text (its score line is the verdict read from it); any other draft is outside text."""
    return Own(text) if prompts.output == "verdict" else text


def _writer_messages(
    stage: StageInputs, state: State, ctx: Context, templates: _Templates, refine: bool
) -> tuple[list[BaseMessage], Shown]:
    system = templates("system", **stage.stable(state, ctx, templates.profile))
    if not refine:
        return _messages(system, templates("draft"))
    current = state.current(stage.name)
    assert current is not None, "refine runs only after a draft"
    draft = _draft(templates.profile.stage(stage.name), current)
    revise = templates("refine", draft=draft, feedback=state.next_feedback(stage.name))
    own_system = templates("refine_system", draft=draft)
    if own_system.text:  # a refinement conversation of its own
        return _messages(own_system, revise)
    return _messages(system, templates("draft"), Shown.of(draft), revise)


def _judge_messages(templates: _Templates, draft: str) -> tuple[list[BaseMessage], Shown]:
    return _messages(templates("critic"), templates("judge", draft=draft))


def _shown(state: State, ctx: Context, stage: StageInputs, templates: _Templates, prompt: Shown) -> Shown:
    """What a verdict of this stage is compared with: the call's own prompt and, where the stage's
    drafts are judgments, the prompts their writers and critics were shown (the critic's feedback and a
    judgment may repeat what those showed from outside)."""
    prompts = templates.profile.stage(stage.name)
    if prompts.output != "verdict":
        return prompt
    writer = _messages(templates("system", **stage.stable(state, ctx, templates.profile)), templates("draft"))[1]
    current = state.current(stage.name)
    judged = _judge_messages(templates, _draft(prompts, current))[1] if current is not None else Shown("")
    return Shown.join([prompt, writer, judged])


def _site(
    stage: StageInputs, step: models.Step, role: str, state: State, ctx: Context, templates: _Templates
) -> models.CallSite:
    """Where a call is made, for models that tune their calls to it (others never see it)."""
    return models.CallSite(
        role=role,
        max_tokens=ctx.max_tokens,
        stage=stage.name,
        step=step,
        state=state,
        profile=templates.profile,
        variant=templates.variant,
        fields=templates.fields,
        variables=templates.parts,
        stable=lambda: stage.stable(state, ctx, templates.profile),
    )


def _reading(prompts: StagePrompts, *, judgment: bool, method: str = "") -> models.Reading:
    """How a verdict of this stage is asked for and read: a judgment draft (the profile's ``reading``)
    or a critique (the method's reading where it names one, else the profile's ``critic_reading``)."""
    if judgment:
        name, decimals, reminder = prompts.reading, prompts.decimals, prompts.reminder
    else:
        name, decimals, reminder = method or prompts.critic_reading, False, prompts.critic_reminder
    preset = models.READINGS[name]
    return replace(preset, tools=prompts.structured and preset.tools, decimals=decimals, reminder=reminder)


def _judgment_text(prompts: StagePrompts, verdict: Critique) -> str:
    """A judgment draft as the calls after it see it: as the judge wrote it, or in the canonical form."""
    return verdict.raw if prompts.judgment_shown == "as_written" else verdict.as_text()


def _spent(stage: Stage, role: str, usage: Usage) -> dict[str, Any]:
    return {"usage": {stage: usage.model_dump()}, "calls_per_role": {role: usage.calls}}


def _writer(stage: StageInputs, step: Literal["draft", "refine"]) -> Node:
    """The base model's step: a first draft, or (``refine``) a revision of the latest draft with the
    critic's feedback, the next principle of a sequence, or the profile's fixed request."""

    async def node(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        ctx = runtime.context
        templates = _Templates.of(stage, state, ctx)
        prompts = templates.profile.stage(stage.name)
        annotate(ctx, stage=stage.name, round=state.round(stage.name) + 1)
        messages, prompt = _writer_messages(stage, state, ctx, templates, refine=step == "refine")
        model = models.for_call(ctx.model, _site(stage, step, "base", state, ctx, templates))
        if prompts.output == "verdict":
            verdict, usage = await models.verdict(
                model,
                messages,
                max_tokens=ctx.max_tokens,
                role="base",
                shown=_shown(state, ctx, stage, templates, prompt),
                reading=_reading(prompts, judgment=True),
            )
            return {
                "drafts": {stage.name: [_judgment_text(prompts, verdict)]},
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
        templates = _Templates.of(stage, state, ctx)
        prompts = templates.profile.stage(stage.name)
        current = state.current(stage.name)
        assert current is not None, "judge runs only after a draft"
        messages, prompt = _judge_messages(templates, _draft(prompts, current))
        spec, role = stage.judge(ctx, plan_of(ctx))
        critique, usage = await models.verdict(
            models.for_call(spec, _site(stage, "judge", role, state, ctx, templates)),
            messages,
            max_tokens=ctx.max_tokens,
            role=role,
            shown=_shown(state, ctx, stage, templates, prompt),
            reading=_reading(prompts, judgment=False, method=stage.reading(plan_of(ctx))),
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
