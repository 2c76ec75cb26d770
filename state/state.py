"""The graph state: what goes in, what the loop accumulates, and what comes out.

Every per-stage channel is a dict keyed by stage name (``"principles"``, ``"response"``)
whose lists only ever grow: the current draft of a stage is the last item of
``drafts[stage]`` and the critique of draft *i* is ``critiques[stage][i]``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from spri.state.context import Context
from spri.state.conversation import Turn, as_turns, earlier_turns, last_user_text
from spri.state.errors import InputError
from spri.state.methods import MethodPlan
from spri.state.profile import OWN_NAMES, Profile, as_text
from spri.state.rendering import Own

Stage = Literal["principles", "response"]
STAGES: tuple[Stage, ...] = ("principles", "response")

StopReason = Literal[
    "accepted",  # the critic's score reached min_score
    "max_rounds",  # the stage used its max_rounds critiques
    "critic_unparseable",  # no score could be read from the critic, even after one reminder
    "given",  # stage 1 skipped: the principles came with the input
    "not_judged",  # the method has no critic for this stage (vanilla)
]


Score = Annotated[int, Field(ge=1, le=5)] | Annotated[float, Field(ge=1, le=5)]
"""A score 1-5: a whole number, or a decimal where the stage keeps decimals (the paper's Table 2 judges)."""


class Critique(BaseModel):
    """The critic's verdict on one draft."""

    score: Score | None = Field(
        default=None,
        description="Score 1-5 used for routing; None when the critic's output had no readable score.",
    )
    feedback: str = Field(default="", description="The critic's written feedback.")
    raw: str = Field(default="", description="The critic's output exactly as returned.")
    expected_score: float | None = Field(
        default=None,
        description="Probability-weighted mean over 1..5 at the score position, when the runtime "
        "exposes token log-probabilities (then `score` is this value rounded).",
    )
    sampled_score: Score | None = Field(
        default=None,
        description="The score the critic wrote; equals `score` unless log-probabilities were used.",
    )

    def as_text(self) -> str:
        """The verdict in one canonical form (how a judgment draft is shown to the critic)."""
        if self.score is None:
            return self.raw
        return f"Feedback: {self.feedback}\nScore: {self.score}"


class Usage(BaseModel):
    """Model calls and tokens spent by one stage, and the calls answered from the model-call cache."""

    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_hits: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            calls=self.calls + other.calls,
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cache_hits=self.cache_hits + other.cache_hits,
        )


def _plain(value: Any) -> Any:
    """Channels hold plain JSON-like values, so checkpoints never pickle project classes."""
    return value.model_dump() if isinstance(value, BaseModel) else value


def append_per_stage(left: dict[str, list], right: dict[str, list] | None) -> dict[str, list]:
    """Reducer: append each stage's new items to that stage's list; None clears all (a new run)."""
    if right is None:
        return {}
    merged = dict(left)
    for stage, items in right.items():
        merged[stage] = [*merged.get(stage, ()), *map(_plain, items)]
    return merged


def merge(left: dict[str, Any], right: dict[str, Any] | None) -> dict[str, Any]:
    """Reducer: later values win per key; None clears all (a new run)."""
    return {} if right is None else {**left, **right}


def add_counts(left: dict[str, int], right: dict[str, int] | None) -> dict[str, int]:
    """Reducer: add counts per key; None clears all (a new run)."""
    if right is None:
        return {}
    return {key: left.get(key, 0) + right.get(key, 0) for key in {*left, *right}}


def add_per_stage(left: dict[str, Any], right: dict[str, Any] | None) -> dict[str, Any]:
    """Reducer: add each stage's new usage (calls, tokens) to its running total; None clears all."""
    if right is None:
        return {}
    merged = {stage: dict(_plain(usage)) for stage, usage in left.items()}
    for stage, usage in right.items():
        total = merged.setdefault(stage, {})
        for key, value in _plain(usage).items():
            total[key] = total.get(key, 0) + value
    return merged


class Input(BaseModel):
    """What a caller provides. Which fields a run uses depends on the profile."""

    query: str = Field(
        description="The user's request: a question or instruction (general), an emotional-support "
        "post (reappraisal), or the input whose answer is judged (rubric). With `messages` and no query: "
        "the text of the conversation's last user turn."
    )
    messages: list[Turn] | None = Field(
        default=None,
        description="A conversation, oldest message first ({role, content}: user, assistant, system or tool; "
        "or LangChain messages). Its last user turn is the query when none is given; the turns before it "
        "are shown to both stages as the conversation so far (Context.conversation_chars bounds them).",
    )
    goal: str | None = Field(default=None, description="Response goal (reappraisal profile).")
    reference: str | None = Field(default=None, description="Reference answer (rubric profile, optional).")
    response_to_judge: str | None = Field(default=None, description="The answer to judge (rubric profile).")
    principles: str | None = Field(
        default=None, description="Principles given up front: stage 1 is skipped (fixed-principles method)."
    )
    category: str | None = Field(
        default=None, description="Category of the input, used to pick seed examples of the same category."
    )
    extra: dict[str, str] = Field(
        default_factory=dict, description="Further input fields named by a user-defined profile."
    )

    @model_validator(mode="before")
    @classmethod
    def _query_from_messages(cls, data: Any) -> Any:
        """Messages as plain turns; without a query, the last user turn is the query."""
        if not isinstance(data, dict) or data.get("messages") is None:
            return data
        turns = as_turns(data["messages"])
        data = {**data, "messages": turns}
        if data.get("query") in (None, ""):
            query = last_user_text(turns)
            if query is None:
                raise ValueError("messages hold no user turn with text: the last user turn is the query to answer")
            data["query"] = query
        return data

    def earlier_turns(self) -> list[Turn]:
        """The conversation before the query (empty without messages)."""
        return earlier_turns(self.messages, self.query)

    @field_validator("principles", "reference", mode="before")
    @classmethod
    def _structured_as_text(cls, value: Any) -> Any:
        """Rubrics and principles may arrive structured (e.g. BiGGen's score_rubric dict)."""
        return as_text(value) if isinstance(value, dict | list) else value


class Output(BaseModel):
    """What a finished run returns (written by ``finalize``)."""

    profile: str | None = None
    method: str | None = None
    models: dict[str, str] = Field(default_factory=dict, description="Base and critic model names.")
    principles: str | None = Field(default=None, description="The final principles.")
    response: str | None = Field(default=None, description="The final response (or judgment).")
    rubric: str | None = Field(default=None, description="Judgment profiles (rubric): the rubric used.")
    score: Score | None = Field(default=None, description="Judgment profiles: the final judgment's score 1-5.")
    feedback: str | None = Field(default=None, description="Judgment profiles: the final judgment's feedback.")
    expected_score: float | None = Field(
        default=None,
        description="Judgment profiles: the final judgment's score on a continuous 1-5 scale, where the model "
        "gives one (the embedded model; `score` is this value rounded).",
    )
    drafts: Annotated[dict[str, list[str]], append_per_stage] = Field(
        default_factory=dict, description="Every draft per stage, oldest first; the last one is final."
    )
    critiques: Annotated[dict[str, list[Critique]], append_per_stage] = Field(
        default_factory=dict, description="The critique of each draft per stage, in the same order."
    )
    stop_reason: dict[str, StopReason] = Field(default_factory=dict, description="Why each stage stopped.")
    review: Literal["approved", "edited", "rejected"] | None = Field(
        default=None,
        description="The human's latest decision on the principles (review_principles runs only); "
        "'rejected' while a refinement answering the reviewer's note is under way.",
    )
    rounds: Annotated[dict[str, int], merge] = Field(default_factory=dict, description="Critiques used per stage.")
    calls: int = Field(default=0, description="Model calls made in total (not counting cache hits).")
    cache_hits: int = Field(default=0, description="Model calls answered from the model-call cache instead.")
    tokens: dict[str, int] = Field(default_factory=dict, description="Tokens in total: input, output, total.")
    calls_per_stage: dict[str, int] = Field(default_factory=dict)
    calls_per_role: dict[str, int] = Field(
        default_factory=dict, description="Model calls by role: 'base' (drafts, refinements) and 'critic'."
    )
    tokens_per_stage: dict[str, dict[str, int]] = Field(default_factory=dict)
    speculative_wasted: int = Field(
        default=0,
        description="Speculative response drafts (Context.speculate) that were discarded: their model calls, "
        "also counted in `calls` and in `calls_per_role['base']`.",
    )
    speculative_wasted_tokens: dict[str, int] = Field(
        default_factory=dict,
        description="Tokens of the discarded speculative drafts (input, output, total), also counted in "
        "`tokens`; a call cancelled in flight counts 0 (its usage is never reported).",
    )

    @property
    def final_scores(self) -> dict[str, float | None]:
        """The score of each stage's last critique (None where it had no readable one), for the stages
        that were critiqued: what the run's surfaces report as its scores."""
        return {stage: critiques[-1].score for stage, critiques in self.critiques.items() if critiques}


def formerly(name: str) -> Any:
    """A channel under its former name: what threads saved before it was renamed hold, never written."""
    return Field(default_factory=dict, description=f"Threads saved before the rename: now {name}. Never written.")


class State(Input, Output):
    """The full graph state: input fields, the per-stage history, running usage, the output."""

    usage: Annotated[dict[str, Usage], add_per_stage] = Field(
        default_factory=dict, description="Model calls and tokens per stage, summed as nodes report them."
    )
    calls_per_role: Annotated[dict[str, int], add_counts] = Field(
        default_factory=dict,
        description="Model calls by role: 'base' (drafts, refinements, discarded speculative drafts) and "
        "'critic', summed as nodes report them.",
    )
    sequence: list[str] = Field(
        default_factory=list,
        description="Methods applying principles one per pass ('seed-sequence'): the principles, in order.",
    )
    verdicts: Annotated[dict[str, list[Critique]], append_per_stage] = Field(
        default_factory=dict,
        description="Stages whose drafts are judgments (profile output 'verdict'): each draft's verdict, "
        "kept structured; ``drafts`` holds the same verdicts as text for the critic.",
    )
    review_note: str | None = Field(
        default=None, description="The reviewer's reason for rejecting the principles: the next refinement's feedback."
    )
    speculation: dict[str, Any] | None = Field(
        default=None,
        description="A response draft written while the critic judged the principles it follows "
        "(Context.speculate), not yet used: ``key`` (what it was drafted from) and ``update`` (what "
        "draft_response would write). Kept apart from ``drafts`` so it is never taken for a real draft.",
    )
    speculative_wasted_usage: Annotated[dict[str, int], add_counts] = Field(
        default_factory=dict, description="Calls and tokens of discarded speculative drafts (Usage fields)."
    )
    # Former names of channels, in threads saved before the rename: read when such a thread finishes.
    role_calls: Annotated[dict[str, int], add_counts] = formerly("calls_per_role, without discarded speculations")
    speculative_waste: Annotated[dict[str, int], add_counts] = formerly("speculative_wasted_usage")

    def round(self, stage: Stage) -> int:
        """How many critiques the stage has had so far (the round in progress is this + 1)."""
        return len(self.critiques.get(stage, ()))

    def judged(self, stage: Stage) -> Critique | None:
        """The critique of the current draft, if the current draft was judged (an edited or a
        reviewer-requested draft is not)."""
        drafts, critiques = self.drafts.get(stage, []), self.critiques.get(stage, [])
        return critiques[-1] if critiques and len(critiques) == len(drafts) else None

    def current(self, stage: Stage) -> str | None:
        """The stage's latest draft, if any."""
        drafts = self.drafts.get(stage)
        return drafts[-1] if drafts else None

    def needs_refinement(self, stage: Stage, ctx: Context, plan: MethodPlan | None = None) -> bool:
        """True while the stage's latest critique neither accepts the draft nor ends the stage, or
        (``plan.refine_last``) when the last critique did not accept the draft it judged."""
        critiques = self.critiques.get(stage, [])
        reason = stop_reason(critiques, ctx.min_score, ctx.max_rounds, plan.unreadable if plan else "stop")
        if reason is None:
            return True
        judged_last = len(self.drafts.get(stage, ())) == len(critiques)
        return bool(plan and plan.refine_last) and reason == "max_rounds" and judged_last

    def passes_left(self, plan: MethodPlan) -> int:
        """An unjudged response stage: refinement passes still to run."""
        planned = len(self.sequence) - 1 if plan.principles == "seed-sequence" else plan.passes
        return planned - (len(self.drafts.get("response", ())) - 1)

    def next_feedback(self, stage: Stage) -> str:
        """What the next refinement answers: a reviewer's note on rejected principles, else the
        critique of the current draft; for a sequence of principles, the next one; else nothing (the
        profile's template holds a fixed request)."""
        drafts, critiques = self.drafts.get(stage, []), self.critiques.get(stage, [])
        if stage == "principles" and self.review == "rejected" and self.review_note:
            return self.review_note
        if critiques and len(critiques) == len(drafts):
            return Own(critiques[-1].feedback)  # the critic's text, not outside text
        if stage == "response" and len(drafts) < len(self.sequence):
            return self.sequence[len(drafts)]
        return ""

    def principles_used(self, plan: MethodPlan) -> str | None:
        """The principles the method's response follows: stage 1's latest draft, or those given with
        the input or put in place by ``begin``; None for methods without principles."""
        if plan.principles == "none":
            return None
        return self.current("principles") or self.principles


def stop_reason(
    critiques: list[Critique], min_score: int, max_rounds: int, unreadable: str = "stop"
) -> StopReason | None:
    """Why a stage stops after its latest critique, or None if it should refine again. A critique with
    no readable score stops the stage, or (``unreadable='refine'``) counts as one that did not accept."""
    if not critiques:
        return None
    last = critiques[-1]
    if last.score is None and unreadable == "stop":
        return "critic_unparseable"
    if last.score is not None and last.score >= min_score:
        return "accepted"
    if len(critiques) >= max_rounds:
        return "max_rounds"
    return None


NAMED_FIELDS = tuple(name for name in Input.model_fields if name not in ("principles", "extra"))
"""The input fields that have a name of their own on :class:`Input` (the others a profile declares
come in ``extra``); templates see each of them by name."""

TEMPLATE_FIELDS = tuple(name for name in NAMED_FIELDS if name not in OWN_NAMES and name != "messages")
"""The named input fields templates see by name (the conversation they see bounded, as ``conversation``)."""


def given_fields(inputs: Input) -> list[str]:
    """The names of the input fields given (not empty), named ones first, then ``extra``'s."""
    named = [name for name in (*NAMED_FIELDS, "principles") if getattr(inputs, name) not in (None, "")]
    return [*named, *inputs.extra]


def check_input(inputs: Input, method: MethodPlan, profile: Profile, protocol: str = "default") -> None:
    """Raise :class:`InputError` naming what is missing, or given but not taken, before any model is called."""
    if not inputs.query or not inputs.query.strip():
        raise InputError("the query is empty: give the text to answer")
    check_conversation(inputs, profile, protocol)
    named = sorted(set(inputs.extra) & set(Input.model_fields))
    if named:
        raise InputError(f"give {', '.join(named)} as input field(s) of their own, not under 'extra'")
    profile.refuse_unknown(given_fields(inputs))
    values = {**inputs.extra, **inputs.model_dump(exclude={"extra"})}
    missing = profile.missing_fields(values)
    if missing:
        raise InputError(f"profile '{profile.name}' needs input field(s): {', '.join(missing)}")
    if method.principles == "input" and not (inputs.principles or "").strip():
        raise InputError("this method needs principles in the input (e.g. --principles TEXT|@FILE)")
    if method.principles == "generic" and method.generic:
        profile.generic_principles(method.generic, inputs.category)
    if method.principles == "seed-sequence" and not (inputs.category or "").strip():
        raise InputError("this method applies the seed principles up to the input's category: give --category")


def check_conversation(inputs: Input, profile: Profile, protocol: str) -> None:
    """Earlier turns of a conversation need prompts that show them: the paper's single-turn prompts
    (protocol 'paper') and a profile whose templates never show ``conversation`` refuse them."""
    if not inputs.earlier_turns():
        return
    if protocol == "paper":
        raise InputError(
            "protocol 'paper' keeps the paper's single-turn prompts and takes no conversation: give the "
            "query alone (messages with one user turn), or use protocol 'default'"
        )
    if not profile.shows_conversation():
        raise InputError(
            f"profile '{profile.name}' shows no conversation (none of its templates uses `conversation`): "
            "give the query alone, or show {{ conversation }} in its templates"
        )
