"""Task profiles and seed examples: the data that shapes the prompts.

A profile names the input fields a task takes and carries, for each stage, the prompt templates
(Jinja2, sandboxed) for drafting, refining and judging plus the critic's 1..5 scale. Nodes render
prompts from a profile and never branch on its name. Built-in profiles live beside the nodes in
``spri/nodes/prompts/*.toml``; their default seed examples in ``spri/nodes/seeds/*.jsonl``.
"""

from __future__ import annotations

import ast
import json
import tomllib
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment
from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from spri.state.errors import ProfileError

_jinja = SandboxedEnvironment(
    undefined=StrictUndefined, keep_trailing_newline=False, autoescape=False, trim_blocks=True, lstrip_blocks=True
)


@lru_cache(maxsize=512)
def compile_template(template: str) -> Any:
    return _jinja.from_string(template)


class InputField(BaseModel):
    name: str = Field(description="State field name (query, goal, reference, response_to_judge) or an extra.")
    label: str = Field(description="How the field is introduced in prompts, e.g. 'Response goal'.")
    required: bool = False
    stages: list[Literal["principles", "response"]] = Field(
        default=["principles", "response"],
        description="Stages whose prompts show the field (a rubric must not see the answer it will grade).",
    )


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

    @field_validator("scale")
    @classmethod
    def _five(cls, scale: list[str]) -> list[str]:
        if len(scale) != 5 or not all(s.strip() for s in scale):
            raise ValueError("scale must list five non-empty descriptions, for scores 1 to 5")
        return scale

    @model_validator(mode="after")
    def _templates_compile(self) -> StagePrompts:
        for name in ("system", "draft", "refine", "critic", "judge", "example", "grammar"):
            try:
                compile_template(getattr(self, name))
            except TemplateError as exc:
                raise ValueError(f"template '{name}' does not parse: {exc}") from exc
        return self


class Profile(BaseModel):
    name: str
    description: str = ""
    fields: list[InputField]
    principles: StagePrompts
    response: StagePrompts
    generic: dict[str, dict[str, str]] = Field(
        default_factory=dict,
        description="Fixed principles some methods use instead of stage 1, by name, then by input category "
        "('default' when no category matches), e.g. generic['mt-bench']['default'].",
    )

    def __hash__(self) -> int:  # loaded once and cached, so identity is the right key for caches
        return id(self)

    @model_validator(mode="after")
    def _has_query(self) -> Profile:
        if not any(f.name == "query" for f in self.fields):
            raise ValueError("fields must include 'query' (the main input)")
        return self

    def render(self, stage: str, step: str, **variables: Any) -> str:
        """Render one template of a stage ('system', 'draft', 'refine', 'critic', 'judge', 'example')."""
        prompts: StagePrompts = getattr(self, stage)
        variables.setdefault("scale", "\n".join(f"{i}: {text}" for i, text in enumerate(prompts.scale, 1)))
        try:
            return str(compile_template(getattr(prompts, step)).render(**variables)).strip()
        except TemplateError as exc:
            raise ProfileError(f"profile '{self.name}': {stage}.{step} failed to render: {exc}") from exc

    def input_block(self, values: dict[str, str | None], stage: str) -> str:
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
        if not text:
            raise ProfileError(f"profile '{self.name}': generic '{name}' has no entry for '{key}' and no 'default'")
        return text.strip()

    def missing_fields(self, values: dict[str, str | None]) -> list[str]:
        return [f.name for f in self.fields if f.required and not (values.get(f.name) or "").strip()]


@lru_cache(maxsize=1)
def builtin_profiles() -> tuple[str, ...]:
    folder = resources.files("spri.nodes") / "prompts"
    return tuple(sorted(p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml")))


def _read_profile_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ProfileError(f"cannot read profile file {path}: {exc}") from exc
    try:
        if path.suffix in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
        else:
            data = tomllib.loads(text)
    except Exception as exc:
        raise ProfileError(f"profile file {path} is not valid {path.suffix.lstrip('.').upper()}: {exc}") from exc
    if not isinstance(data, dict):
        raise ProfileError(f"profile file {path} must hold a table/mapping at the top level")
    data.setdefault("name", path.stem)
    return data


@lru_cache(maxsize=64)
def load_profile(name_or_path: str) -> Profile:
    """A built-in profile by name, or a user's profile from a .toml/.yaml/.yml file."""
    if name_or_path in builtin_profiles():
        with resources.as_file(resources.files("spri.nodes") / "prompts" / f"{name_or_path}.toml") as p:
            path = Path(p)
    else:
        path = Path(name_or_path).expanduser()
        if path.suffix not in (".toml", ".yaml", ".yml"):
            raise ProfileError(
                f"unknown profile '{name_or_path}': use one of {', '.join(builtin_profiles())} "
                "or a path to a .toml/.yaml profile file"
            )
        if not path.is_file():
            raise ProfileError(f"profile file not found: {path}")
    data = _read_profile_file(path)
    try:
        return Profile.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(top level)'}: {err['msg']}" for err in exc.errors()
        )
        raise ProfileError(f"profile file {path} is invalid: {problems}") from exc


class Seed(BaseModel):
    """One few-shot example for drafting principles."""

    inputs: dict[str, str]
    principles: str
    category: str | None = None

    def __hash__(self) -> int:  # seeds are loaded once per file version; identity keys the caches
        return id(self)


SEED_ALIASES: dict[str, tuple[str, ...]] = {
    "query": ("query", "question", "input", "instruction", "post", "reddit_post", "Reddit Post"),
    "goal": ("goal", "appraisal_dimension_aim", "response_goal"),
    "reference": ("reference", "reference_answer"),
    "principles": ("principles", "principle", "constitution", "oracle_principles", "rubric", "score_rubric"),
    "category": ("category", "question_type", "capability", "appraisal_dimension", "dimension"),
}
"""Seed-file column names recognised without an explicit mapping, per field, first match wins."""


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
    fields: dict[str, str] = {}
    for field, aliases in SEED_ALIASES.items():
        names = (mapping[field],) if field in mapping else aliases
        for name in names:
            if record.get(name) not in (None, ""):
                fields[field] = as_text(record[name])
                break
    for field, column in mapping.items():
        if field not in SEED_ALIASES and record.get(column) not in (None, ""):
            fields[field] = as_text(record[column])
    if "query" not in fields or "principles" not in fields:
        want = [f for f in ("query", "principles") if f not in fields]
        raise ValueError(
            f"missing {' and '.join(want)} (looked for columns "
            + "; ".join(f"{w}: {', '.join((mapping[w],) if w in mapping else SEED_ALIASES[w])}" for w in want)
            + ")"
        )
    principles = fields.pop("principles")
    category = fields.pop("category", None)
    return Seed(inputs=fields, principles=principles, category=category)


@lru_cache(maxsize=32)
def _load_seed_file(path: str, mtime_ns: int, mapping: tuple[tuple[str, str], ...]) -> tuple[Seed, ...]:
    seeds = []
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ProfileError(f"cannot read seeds file {path}: {exc.strerror or exc}") from exc
    for number, line in enumerate(raw.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise ProfileError(f"seeds file {path}, line {number}: not UTF-8 ({exc.reason})") from exc
        except json.JSONDecodeError as exc:
            raise ProfileError(f"seeds file {path}, line {number}: not valid JSON ({exc.msg})") from exc
        if not isinstance(record, dict):
            raise ProfileError(f"seeds file {path}, line {number}: expected a JSON object")
        try:
            seeds.append(seed_from_record(record, dict(mapping)))
        except ValueError as exc:
            raise ProfileError(f"seeds file {path}, line {number}: {exc}") from exc
    if not seeds:
        raise ProfileError(f"seeds file {path} holds no examples")
    return tuple(seeds)


def load_seeds(source: str, profile: str, mapping: dict[str, str] | None = None) -> tuple[Seed, ...]:
    """Seeds from 'default' (the built-in profile's own set, if it has one) or a JSONL file."""
    if source == "default":
        default = _default_seed_path(profile)
        if default is None:
            return ()
        path = default
    else:
        path = Path(source).expanduser()
        if not path.is_file():
            raise ProfileError(f"seeds file not found: {path}")
    return _load_seed_file(str(path), path.stat().st_mtime_ns, tuple(sorted((mapping or {}).items())))


@lru_cache(maxsize=16)
def _default_seed_path(profile: str) -> Path | None:
    """Where a built-in profile's own seeds live (package data: looked up once per process)."""
    candidate = resources.files("spri.nodes") / "seeds" / f"{profile}.jsonl"
    if profile not in builtin_profiles() or not candidate.is_file():
        return None
    with resources.as_file(candidate) as p:
        return Path(p)


def select_seeds(seeds: tuple[Seed, ...], policy: str, category: str | None) -> tuple[Seed, ...]:
    """Apply the seed policy: all seeds, none, or only those of the input's category."""
    if policy == "none":
        return ()
    if policy == "category":
        if not category:
            return seeds
        wanted = category.strip().lower()
        return tuple(s for s in seeds if (s.category or "").strip().lower() == wanted)
    return seeds
