"""The runtime context: how a run is configured (passed as ``context=`` and never checkpointed)."""

from __future__ import annotations

import json
import os
from typing import Any, Literal, NamedTuple

from langchain_core.language_models import BaseChatModel
from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.json_schema import SkipJsonSchema

Method = Literal["spri", "fixed-principles", "self-refine", "vanilla", "seed-rubric", "mt-bench-rubric", "flask-rubric"]
SeedPolicy = Literal["all", "category", "none"]

ModelSpec = str | SkipJsonSchema[BaseChatModel]


PrinciplesSource = Literal["draft", "input", "seeds", "generic", "none"]


class MethodPlan(NamedTuple):
    """What a method runs; the graph's routers and nodes read this table, never method names."""

    principles: PrinciplesSource
    """Where the principles the response follows come from: stage 1 ('draft'), the input, the seed
    example of the input's category, the profile's generic principles, or nowhere."""
    judges_response: bool
    """Stage 2 has a critic and a refinement loop (else one draft is the answer)."""
    generic: str | None = None
    """For principles='generic': which of the profile's generic principles (e.g. 'mt-bench')."""
    paper: str = ""
    """What the method is, in the paper's terms; the ``method`` field's description (e.g. in Studio)."""


METHODS: dict[str, MethodPlan] = {
    "spri": MethodPlan("draft", True, paper="SPRI: both stages, principles situated to the input"),
    "fixed-principles": MethodPlan(
        "input", True, paper="oracle / constitutional principles given with the input (stage 1 skipped)"
    ),
    "self-refine": MethodPlan("none", True, paper="Self-Refine: response, critique without principles, refine"),
    "vanilla": MethodPlan("none", False, paper="direct response (or direct judgment), no critic"),
    "seed-rubric": MethodPlan(
        "seeds", True, paper="rubric ablation: the seed example of the input's category used as the rubric"
    ),
    "mt-bench-rubric": MethodPlan("generic", True, "mt-bench", paper="one generic MT-Bench-style rubric"),
    "flask-rubric": MethodPlan("generic", True, "flask", paper="FLASK-style skill rubrics for the category"),
}


def _env_model(name: str) -> str | None:
    return os.environ.get(name) or None


class Context(BaseModel):
    """Run configuration for SPRI. Every field can be set per run; models default from the environment."""

    model_config = ConfigDict(arbitrary_types_allowed=True, extra="forbid")

    model: ModelSpec = Field(
        default_factory=lambda: _env_model("SPRI_MODEL") or "local",
        description="Base model: 'local' (embedded SmolLM2-135M), 'local:/path/model.gguf', "
        "'openai:NAME' (OPENAI_BASE_URL/OPENAI_API_KEY), any 'provider:NAME' LangChain can "
        "initialise, or a chat model object (Python API). Default: $SPRI_MODEL or 'local'.",
    )
    critic_model: ModelSpec | None = Field(
        default_factory=lambda: _env_model("SPRI_CRITIC_MODEL"),
        description="Critic model, same forms as `model`. Default: $SPRI_CRITIC_MODEL, else the base model.",
    )
    min_score: int = Field(
        default=4, ge=1, le=5, description="A critique scoring at least this (1-5) accepts the draft."
    )
    max_rounds: int = Field(
        default=4, ge=1, le=20, description="Most critiques per stage; the draft stands after the last one."
    )
    profile: str = Field(
        default="general",
        description="Task profile: 'general', 'reappraisal', 'rubric', or a path to a TOML/YAML profile.",
    )
    method: Method = Field(
        default="spri",
        description="; ".join(f"'{name}': {plan.paper}" for name, plan in METHODS.items()) + ".",
    )
    seeds: str = Field(
        default="default",
        description="Seed examples for drafting principles: 'default' (the profile's own set) or a JSONL path.",
    )
    seed_policy: SeedPolicy = Field(
        default="all",
        description="'all' seeds, only seeds of the input's 'category', or 'none' (zero-seed).",
    )
    seed_fields: dict[str, str] = Field(
        default_factory=dict,
        description="Seed-file column per seed field (query, goal, reference, principles, category) where "
        "the file's names are not recognised, e.g. {'principles': 'constitution'}.",
    )
    max_tokens: int = Field(default=512, ge=16, le=32768, description="Most tokens a model may generate per call.")
    review_principles: bool = Field(
        default=False, description="Pause after stage 1 so a human can approve or edit the principles."
    )

    @field_validator("model", "critic_model")
    @classmethod
    def _non_empty(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            raise ValueError("a model spec must not be empty (try 'local' or 'openai:gpt-4o-mini')")
        return value

    @property
    def plan(self) -> MethodPlan:
        """What the configured method runs (the routers and nodes read this, never the method's name)."""
        return METHODS[self.method]

    @property
    def critic(self) -> ModelSpec:
        """The critic model spec, falling back to the base model."""
        return self.critic_model if self.critic_model is not None else self.model

    def to_json(self) -> str:
        """The context as JSON, models as names: what a later ``resume`` needs to continue a run."""
        data = self.model_dump(mode="python")
        data["model"] = model_name(self.model)
        data["critic_model"] = None if self.critic_model is None else model_name(self.critic_model)
        return json.dumps(data)


def model_name(spec: ModelSpec) -> str:
    """A short stable name for a model spec or object (for results, traces and resume)."""
    if isinstance(spec, str):
        return spec
    for attr in ("model_name", "model", "model_path"):
        value = getattr(spec, attr, None)
        if isinstance(value, str) and value:
            return f"{type(spec).__name__}:{value}"
    return type(spec).__name__
