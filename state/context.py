"""The runtime context: how a run is configured (passed as ``context=`` and never checkpointed)."""

from __future__ import annotations

import json
import os
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.json_schema import SkipJsonSchema

from spri.state.methods import METHODS, Method, method_help

SeedPolicy = Literal["all", "category", "others", "none"]
Protocol = Literal["default", "paper"]

ModelSpec = str | SkipJsonSchema[BaseChatModel]


RENAMED_FIELDS = {"random_seed": "random_pick"}
"""Context fields' former names and their names now. A former name is still accepted wherever settings
come in: API keywords, settings saved with a thread or a batch output, the server's config keys, and
command-line flags (hidden from the help)."""


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
    method: Method = Field(default="spri", description=method_help())
    protocol: Protocol = Field(
        default="default",
        description="'default': this project's prompts, and a critic loop in every method but vanilla; "
        "'paper': what the paper and its authors' code do for each profile and method: their inputs per "
        "call, criteria, length limits, critic layout (Prometheus, `[RESULT] N`), baselines and call structures.",
    )
    seeds: str = Field(
        default="default",
        description="Seed examples for drafting principles: 'default' (the profile's own set) or a JSONL path.",
    )
    paper_seeds: str | None = Field(
        default_factory=lambda: _env_model("SPRI_PAPER_SEEDS"),
        description="Protocol paper: the folder of the paper's released seed files (principles_6.jsonl, "
        "reappraisal_constitutions_6.jsonl), whose seeds the paper's profiles use when `seeds` is 'default'. "
        "Default: $SPRI_PAPER_SEEDS.",
    )
    seed_policy: SeedPolicy = Field(
        default="all",
        description="'all' seeds, only seeds of the input's 'category', all but those ('others'; with the "
        "paper's reappraisal seeds this leaves out the item's own oracle constitution), or 'none' (zero-seed).",
    )
    seed_fields: dict[str, str] = Field(
        default_factory=dict,
        description="Seed-file column per seed field (query, goal, reference, principles, category) where "
        "the file's names are not recognised, e.g. {'principles': 'constitution'}.",
    )
    max_tokens: int = Field(default=512, ge=16, le=32768, description="Most tokens a model may generate per call.")
    conversation_chars: int = Field(
        default=4000,
        ge=0,
        le=1_000_000,
        description="Most characters of a conversation's earlier turns (input `messages`) the prompts show: "
        "the newest turns that fit, oldest left out first, after a marker saying how many were left out.",
    )
    review_principles: bool = Field(
        default=False,
        description="Pause after stage 1 so a human can approve the principles, edit them, or reject them with "
        "a note (they are refined once with it and reviewed again).",
    )
    random_pick: int = Field(
        default=0,
        description="Decides the picks of the methods that pick at random (seed-rubric under protocol paper): "
        "the same number, the same picks. Formerly random_seed.",
    )
    speculate: bool = Field(
        default=False,
        description="Draft the response from each principles draft while the critic judges that draft "
        "(methods that draft principles, without review_principles); the draft is used when the principles "
        "stage ends there and discarded when they are refined. Same results, one model latency less per run; "
        "each discarded draft is one more base-model call (counted in calls and speculative_wasted).",
    )

    @model_validator(mode="before")
    @classmethod
    def _former_names(cls, data: Any) -> Any:
        """Fields given by a former name (:data:`RENAMED_FIELDS`) count under their name now."""
        if isinstance(data, dict) and not RENAMED_FIELDS.keys().isdisjoint(data):
            data = dict(data)
            for former, name in RENAMED_FIELDS.items():
                if former in data:
                    data.setdefault(name, data.pop(former))
        return data

    @field_validator("model", "critic_model")
    @classmethod
    def _non_empty(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            raise ValueError("a model spec must not be empty (try 'local' or 'openai:gpt-4o-mini')")
        return value

    @model_validator(mode="after")
    def _method_runs_under_protocol(self) -> Context:
        if METHODS[self.method].paper_only and self.protocol != "paper":
            raise ValueError(f"method '{self.method}' runs only under protocol 'paper' (--protocol paper)")
        return self

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


def class_name(obj: Any) -> str:
    """The name of an object's class as LangChain serializes it (SPRI's own ``openai:NAME`` model is
    serialized as the ``ChatOpenAI`` it is), else its class's own name."""
    lc_id = getattr(type(obj), "lc_id", None)
    serialized = lc_id() if callable(lc_id) else None
    if isinstance(serialized, list) and serialized and isinstance(serialized[-1], str):
        return serialized[-1]
    return type(obj).__name__


def model_name(spec: ModelSpec) -> str:
    """A short stable name for a model spec or object (for results, traces and resume)."""
    if isinstance(spec, str):
        return spec
    for attr in ("model_name", "model", "model_path"):
        value = getattr(spec, attr, None)
        if isinstance(value, str) and value:
            return f"{class_name(spec)}:{value}"
    return class_name(spec)
