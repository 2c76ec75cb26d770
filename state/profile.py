"""Task profiles and seed examples: the data that shapes the prompts.

A profile names the input fields a task takes and carries, for each stage, the prompt templates
(Jinja2, sandboxed) for drafting, refining and judging plus the critic's 1..5 scale. Nodes render
prompts from a profile and never branch on its name. This module is the schema; loading built-in and
user profiles and seed files is ``spri.nodes.profiles``'s job.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from spri.state.columns import COLUMN_ALIASES, SEED_FIELDS, find_column
from spri.state.context import SeedPolicy
from spri.state.errors import InputError, ProfileError
from spri.state.methods import METHODS
from spri.state.rendering import Own, Shown, remark, render_shown
from spri.state.templates import (
    OWN_NAMES,
    PromptParts,
    check_template,
    compile_template,
    cycle,
    names_used,
    reserved_field_name,
)

__all__ = ["OWN_NAMES", "UNIVERSAL_FIELDS", "PromptParts", "compile_template"]

UNIVERSAL_FIELDS = ("query", "principles", "category", "messages")
"""Input fields every profile takes: the query, principles given with the input, the input's category,
the conversation the query ends."""


class InputField(BaseModel):
    name: str = Field(description="State field name (query, goal, reference, response_to_judge) or an extra.")
    label: str = Field(description="How the field is introduced in prompts, e.g. 'Response goal'.")
    required: bool = False
    stages: list[Literal["principles", "response"]] = Field(
        default=["principles", "response"],
        description="Stages whose prompts show the field (a rubric must not see the answer it will grade).",
    )


TEMPLATES = ("system", "draft", "refine", "refine_system", "critic", "judge")
"""The templates of a stage a method's variant may replace."""


class StagePrompts(BaseModel):
    """Templates for one stage. `system` and `critic` are the stable prefixes; the rest are per input."""

    system: str = Field(description="Base model's role and rules (draft and refine); may list `examples`.")
    draft: str = Field(description="First draft request.")
    refine: str = Field(description="Revision request after a critique; sees `draft` and `feedback`.")
    critic: str = Field(description="Critic's role, rules and the `scale`.")
    judge: str = Field(description="Critic's request for one draft.")
    scale: list[str] = Field(description="What scores 1..5 mean, lowest first.")
    example: str = Field(default="", description="How one seed example is shown inside `system`.")
    grammar: str = Field(
        default="",
        description="Optional GBNF grammar (a template; `max_chars` is the reply's character budget) that "
        "models with grammar support (the embedded one) must follow for drafts; others ignore it.",
    )
    output: Literal["text", "verdict"] = Field(
        default="text",
        description="'verdict': the base model's drafts are judgments (feedback + score 1-5), produced and "
        "read the way critiques are (structured output, grammar, or parsing).",
    )
    refine_system: str = Field(
        default="",
        description="Set: a refinement is a conversation of its own (this system message, then `refine`); "
        "empty: it continues the drafting conversation.",
    )
    structured: bool = Field(
        default=True,
        description="Verdicts of this stage are asked for by tool call where the model supports it; false: "
        "always as free text in the layout the prompt asks for (e.g. Prometheus's `[RESULT] N`).",
    )
    decimals: bool = Field(default=False, description="Judgment drafts keep decimal scores such as 4.5.")
    reading: str = Field(
        default="default",
        description="How judgment drafts are read: a reading named in spri.models.READINGS (the marker forms, "
        "which marker counts, how the feedback is taken, whether an unreadable one gets a reminder).",
    )
    critic_reading: str = Field(default="default", description="How critiques are read, by the same names.")
    judgment_shown: Literal["canonical", "as_written"] = Field(
        default="canonical",
        description="How a judgment draft is shown to the calls after it (its critic, its refinement): "
        "'canonical' (`Feedback: ...` then `Score: N`) or 'as_written' (the judge's text as it wrote it).",
    )
    reminder: str = Field(default="", description="Format reminder for an unreadable judgment draft.")
    critic_reminder: str = Field(default="", description="Format reminder for an unreadable critique.")
    variants: dict[str, dict[str, str]] = Field(
        default_factory=dict,
        description="Templates some methods use instead of the stage's own, by variant name (a method's "
        "`prompts`), e.g. variants['baseline']['draft']; a template a variant leaves out is the stage's.",
    )

    @field_validator("scale")
    @classmethod
    def _five(cls, scale: list[str]) -> list[str]:
        if len(scale) != 5 or not all(s.strip() for s in scale):
            raise ValueError("scale must list five non-empty descriptions, for scores 1 to 5")
        return scale

    @model_validator(mode="after")
    def _templates_compile(self) -> StagePrompts:
        named = [(name, getattr(self, name)) for name in (*TEMPLATES, "example", "grammar")]
        for variant, templates in self.variants.items():
            unknown = sorted(set(templates) - set(TEMPLATES))
            if unknown:
                raise ValueError(f"variant '{variant}' names unknown template(s) {', '.join(unknown)}")
            named += [(f"variants.{variant}.{name}", text) for name, text in templates.items()]
        for name, text in named:
            try:
                check_template(text)
            except ValueError as exc:
                raise ValueError(f"template '{name}' {exc}") from exc
        return self

    def template(self, step: str, variant: str = "") -> str:
        """The template of ``step``: the variant's own if it has one, else the stage's."""
        templates = self.variants.get(variant, {})
        return templates[step] if step in templates else str(getattr(self, step))


class ReleasedSeeds(BaseModel):
    """The seed examples a profile uses by default: one of the paper's released seed files."""

    file: str = Field(description="The file's name in the folder of the paper's released seed files.")
    policy: SeedPolicy | None = Field(
        default=None, description="The seed policy used with them where the run sets none (e.g. 'category')."
    )


class Profile(BaseModel):
    name: str
    description: str = ""
    released_seeds: ReleasedSeeds | None = Field(
        default=None,
        description="Seeds from the paper's release used when the run's `seeds` is 'default' (found in the "
        "folder given as `paper_seeds`); without it, a built-in profile's own seeds.",
    )
    fields: list[InputField]
    principles: StagePrompts
    response: StagePrompts
    generic: dict[str, dict[str, str]] = Field(
        default_factory=dict,
        description="Fixed principles some methods use instead of stage 1, by name, then by input category "
        "('default' when no category matches), e.g. generic['mt-bench']['default']; an entry '@key' is the "
        "same table's entry 'key'.",
    )
    texts: dict[str, str] = Field(
        default_factory=dict,
        description="Shared passages (templates themselves) every template can show as `texts.NAME`.",
    )
    methods: dict[str, str] = Field(
        default_factory=dict,
        description="Methods that run another method's row with this profile, e.g. {'self-refine': "
        "'self-feedback'} where the paper's self-refine for this task is the base model judging itself.",
    )

    def __hash__(self) -> int:  # loaded once and cached, so identity is the right key for caches
        return id(self)

    @model_validator(mode="after")
    def _fields_are_inputs(self) -> Profile:
        names = self.field_names()
        if "query" not in names:
            raise ValueError("fields must include 'query' (the main input)")
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise ValueError(f"fields name {', '.join(twice)} more than once")
        reserved = [name for name in names if reserved_field_name(name)]
        if reserved:
            raise ValueError(
                f"field {', '.join(repr(n) for n in reserved)}: the templates use that name for the profile's own "
                "text (or Jinja for its own); call the field something else"
            )
        return self

    def stage(self, name: str) -> StagePrompts:
        """The templates of stage ``name`` ('principles' or 'response')."""
        prompts: StagePrompts = getattr(self, name)
        return prompts

    @model_validator(mode="after")
    def _methods_known_and_texts_compile(self) -> Profile:
        unknown = sorted({*self.methods, *self.methods.values()} - set(METHODS))
        if unknown:
            raise ValueError(f"methods names unknown method(s) {', '.join(unknown)}")
        shows = {}
        for name, text in self.texts.items():
            try:
                shows[name] = check_template(text)
            except ValueError as exc:
                raise ValueError(f"text '{name}' {exc}") from exc
        endless = cycle(shows)
        if endless:
            raise ValueError(f"texts show each other without end: {' -> '.join(endless)}")
        return self

    def shown(
        self,
        stage: str,
        step: str,
        variant: str = "",
        fields: Mapping[str, Any] | None = None,
        **parts: Any,
    ) -> Shown:
        """One template of a stage ('system', 'draft', 'refine', 'refine_system', 'critic', 'judge',
        'example', 'grammar'), the method's ``variant`` of it where the stage has one, rendered with the
        input ``fields`` and the stage's ``parts``, and the spans of it that came from outside."""
        clash = sorted(set(fields or {}) & OWN_NAMES)
        if clash:
            raise ProfileError(f"profile '{self.name}': input field(s) {', '.join(clash)} would replace its own text")
        prompts = self.stage(stage)
        scale = Own("\n".join(f"{i}: {text}" for i, text in enumerate(prompts.scale, 1)))
        variables: dict[str, Any] = {**(fields or {}), "scale": scale, "levels": [Own(t) for t in prompts.scale]}
        variables.update(parts)
        variables["texts"] = _Passages(self.texts, variables)
        try:
            return render_shown(prompts.template(step, variant), variables)
        except RecursionError as exc:
            problem = "shows itself without end (a macro or passage that calls itself)"
            raise ProfileError(f"profile '{self.name}': template {stage}.{step} {problem}") from exc
        except Exception as exc:  # anything a user's template does wrong is the profile's to fix
            raise ProfileError(f"profile '{self.name}': template {stage}.{step} failed to render: {exc}") from exc

    def render(
        self,
        stage: str,
        step: str,
        variant: str = "",
        fields: Mapping[str, Any] | None = None,
        **parts: Any,
    ) -> str:
        """The text of :meth:`shown`."""
        return self.shown(stage, step, variant, fields, **parts).text

    def shows_conversation(self) -> bool:
        """True if a template of the profile shows ``conversation`` (the turns before the query), itself or
        through a shared passage it shows."""
        stages = (self.principles, self.response)
        unread = [
            *(getattr(prompts, name) for prompts in stages for name in TEMPLATES),
            *(text for prompts in stages for variant in prompts.variants.values() for text in variant.values()),
        ]
        passages: set[str] = set()
        while unread:
            text = unread.pop()
            if "conversation" in names_used(text):
                return True
            shown = {name for name in check_template(text) if name in self.texts} - passages
            passages |= shown
            unread += [self.texts[name] for name in shown]
        return False

    def field_names(self) -> list[str]:
        return [f.name for f in self.fields]

    def refuse_unknown(self, given: Iterable[str]) -> None:
        """InputError naming the ``given`` input fields this profile does not take, if any."""
        takes = {*self.field_names(), *UNIVERSAL_FIELDS}
        unknown = [name for name in dict.fromkeys(given) if name not in takes]
        if unknown:
            raise InputError(
                f"profile '{self.name}' does not take input field{'s' if len(unknown) > 1 else ''} "
                f"{', '.join(repr(name) for name in unknown)} (it takes: {', '.join(self.field_names())}; "
                "any profile also takes principles, category and messages)"
            )

    def input_block(self, values: Mapping[str, str | None], stage: str) -> str:
        """The per-input part of a stage's prompts: each provided field under its label, in profile order."""
        shown = [f for f in self.fields if stage in f.stages]
        return "\n\n".join(f"{f.label}:\n{text.strip()}" for f in shown if (text := values.get(f.name)))

    def generic_principles(self, name: str, category: str | None) -> str:
        """The profile's fixed principles called ``name``, for the input's category if it has its own."""
        table = self.generic.get(name)
        if not table:
            have = ", ".join(sorted(self.generic)) or "none"
            raise ProfileError(f"profile '{self.name}' has no generic principles '{name}' (it has: {have})")
        key = (category or "").strip().lower()
        text = table.get(key) or table.get("default")
        if text and text.startswith("@"):
            text = table.get(text[1:])
        if not text:
            raise ProfileError(f"profile '{self.name}': generic '{name}' has no entry for '{key}' and no 'default'")
        return text.strip()

    def missing_fields(self, values: dict[str, str | None]) -> list[str]:
        return [f.name for f in self.fields if f.required and not (values.get(f.name) or "").strip()]


class _Passages:
    """A profile's shared passages as templates: ``texts.NAME`` renders NAME with the variables of the
    template that shows it, when it is shown."""

    def __init__(self, sources: dict[str, str], variables: dict[str, Any]) -> None:
        self._sources, self._variables = sources, variables

    def __getitem__(self, name: str) -> str:
        shown = render_shown(self._sources[name], self._variables)
        return remark(shown) if shown.outside else Own(shown.text)


class Seed(BaseModel):
    """One few-shot example for drafting principles."""

    inputs: dict[str, str]
    principles: str
    category: str | None = None

    def __hash__(self) -> int:  # seeds are loaded once per file version; identity keys the caches
        return id(self)


def as_text(value: Any) -> str:
    """Any seed or input value as prompt text: strings as they are, rubric dicts (even as Python-literal
    strings, as BiGGen stores them) as Criterion + Score 1..5 lines, other dicts and lists line by line."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("{") and text.endswith("}"):  # a dict stored as a Python literal (BiGGen rubrics)
            try:
                parsed = ast.literal_eval(text)
            except (ValueError, SyntaxError):
                return text
            return as_text(parsed) if isinstance(parsed, dict) else text
        return text
    if isinstance(value, dict):
        return _rubric_text(value) or "\n".join(f"{key}: {val}" for key, val in value.items())
    if isinstance(value, list):
        return "\n".join(f"- {item}" for item in value)
    return json.dumps(value)


def _rubric_text(rubric: dict[str, Any]) -> str | None:
    """A rubric dict (criteria + score1..5 descriptions) as readable text, or None if it is not one."""
    levels = [rubric.get(f"score{i}_description") for i in range(1, 6)]
    criterion = rubric.get("criteria") or rubric.get("criterion")
    if not criterion or not all(levels):
        return None
    return "\n".join([f"Criterion: {criterion}", *(f"Score {i}: {text}" for i, text in enumerate(levels, 1))])


def seed_from_record(record: dict[str, Any], mapping: dict[str, str] | None = None) -> Seed:
    """Build a seed from one record; ``mapping`` maps seed fields to the record's column names."""
    mapping = mapping or {}
    present = {name for name, value in record.items() if value not in (None, "")}
    fields: dict[str, str] = {}
    for field in SEED_FIELDS:
        column = find_column(field, present, mapping)
        if column is not None and column in present:
            fields[field] = as_text(record[column])
    for field, column in mapping.items():
        if field not in SEED_FIELDS and column in present:
            fields[field] = as_text(record[column])
    if "query" not in fields or "principles" not in fields:
        want = [f for f in ("query", "principles") if f not in fields]
        raise ValueError(
            f"missing {' and '.join(want)} (looked for columns "
            + "; ".join(f"{w}: {', '.join((mapping[w],) if w in mapping else COLUMN_ALIASES[w])}" for w in want)
            + ")"
        )
    principles = fields.pop("principles")
    category = fields.pop("category", None)
    return Seed(inputs=fields, principles=principles, category=category)
