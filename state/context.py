"""The runtime context: how a run is configured (passed as ``context=`` and never checkpointed)."""

from __future__ import annotations

import json
import os
from typing import Any, Literal, NamedTuple

from langchain_core.language_models import BaseChatModel
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.json_schema import SkipJsonSchema

Method = Literal[
    "spri",
    "fixed-principles",
    "self-refine",
    "vanilla",
    "seed-rubric",
    "mt-bench-rubric",
    "flask-rubric",
    "sequential-principles",
    "seed-principles",
    "self-instruct",
    "self-align",
    "self-feedback",
]
SeedPolicy = Literal["all", "category", "others", "none"]
Protocol = Literal["default", "paper"]

ModelSpec = str | SkipJsonSchema[BaseChatModel]


PrinciplesSource = Literal["draft", "input", "seeds", "seed-random", "seed-list", "seed-sequence", "generic", "none"]
ResponseCritic = Literal["critic", "base", "none"]


class MethodPlan(NamedTuple):
    """What a method runs; the graph's routers and nodes read this table, never method names."""

    principles: PrinciplesSource
    """Where the principles the response follows come from: stage 1 ('draft'), the input, the seed
    example of the input's category ('seeds'), one seed example picked at random ('seed-random'), every
    seed example as a numbered list ('seed-list'), the seed examples in file order up to the input's
    category, applied one per pass ('seed-sequence'), the profile's generic principles, or nowhere."""
    critic: ResponseCritic = "critic"
    """Who judges the response stage: the critic model, the base model itself, or nobody."""
    passes: int = 0
    """Unjudged stage: how many refinement passes follow the first draft (each with the profile's
    fixed request; 'seed-sequence' makes one pass per further principle instead)."""
    refine_last: bool = False
    """Judged stage: refine once more after the last critique if it did not accept (that refinement
    is not judged again)."""
    generic: str | None = None
    """For principles='generic': which of the profile's generic principles (e.g. 'mt-bench')."""
    prompts: str = ""
    """Which variant of the profile's response templates the method uses ('' = the stage's own)."""
    paper_only: bool = False
    """Runs only under protocol 'paper' (its templates exist only in the paper's profiles)."""
    paper: str = ""
    """What the method is, in the paper's terms; the ``method`` field's description (e.g. in Studio)."""
    reading: str = ""
    """Judged stage: how its critiques are read (a name in ``spri.models.READINGS``; '' = the profile's)."""
    unreadable: Literal["stop", "refine"] = "stop"
    """Judged stage: after a critique with no readable score, stop ('critic_unparseable') or refine as
    after a low score, up to ``max_rounds`` critiques."""


METHODS: dict[str, MethodPlan] = {
    "spri": MethodPlan("draft", paper="SPRI: both stages, principles situated to the input"),
    "fixed-principles": MethodPlan("input", paper="oracle / constitutional principles given with the input"),
    "self-refine": MethodPlan("none", paper="Self-Refine: response, critique without principles, refine"),
    "vanilla": MethodPlan("none", "none", paper="direct response (or direct judgment), no critic"),
    "seed-rubric": MethodPlan("seeds", paper="rubric ablation: the seed example of the input's category"),
    "mt-bench-rubric": MethodPlan("generic", generic="mt-bench", paper="one generic MT-Bench-style rubric"),
    "flask-rubric": MethodPlan("generic", generic="flask", paper="FLASK-style skill rubrics for the category"),
    "sequential-principles": MethodPlan(
        "seed-sequence",
        "none",
        prompts="baseline",
        paper_only=True,
        paper="oracle principles applied in sequence (RESORT iterative +cons), no critic",
    ),
    "seed-principles": MethodPlan(
        "seed-list",
        "none",
        prompts="seed-principles",
        paper_only=True,
        paper="every seed principle as a rule list, one call (Table 4 seed principles)",
    ),
    "self-instruct": MethodPlan(
        "none", "none", prompts="self-instruct", paper_only=True, paper="Self-Instruct few-shot response, one call"
    ),
    "self-align": MethodPlan(
        "none", "none", prompts="self-align", paper_only=True, paper="Self-Align rules + demonstrations, one call"
    ),
    "self-feedback": MethodPlan(
        "none",
        "base",
        refine_last=True,
        prompts="self-feedback",
        reading="paper-self-critique",
        unreadable="refine",
        paper_only=True,
        paper="the base model scores and critiques its own response, then refines (Table 4 self-refine)",
    ),
}
"""Every method under protocol 'default' (and the paper-only ones)."""

PAPER_METHODS: dict[str, MethodPlan] = {
    "fixed-principles": MethodPlan("input", "none", prompts="baseline", paper="one call with the given principles"),
    "self-refine": MethodPlan(
        "none", "none", passes=5, prompts="baseline", paper="a draft and 5 passes with a fixed request, no critic"
    ),
    "vanilla": MethodPlan("none", "none", prompts="baseline", paper="the baseline prompt, one call"),
    "seed-rubric": MethodPlan("seed-random", "none", prompts="baseline", paper="one random seed principle, one call"),
    "mt-bench-rubric": MethodPlan("none", "none", prompts="mt-bench", paper="the MT-Bench judge prompt, one call"),
    "flask-rubric": MethodPlan("generic", "none", generic="flask", paper="the FLASK skill rubric, one call"),
}
"""Under protocol 'paper', the methods whose call structure differs from the default's."""


def plan_for(method: str, protocol: str) -> MethodPlan:
    """The row a method runs under a protocol."""
    return PAPER_METHODS.get(method, METHODS[method]) if protocol == "paper" else METHODS[method]


def _method_help() -> str:
    def one(name: str, plan: MethodPlan) -> str:
        paper = PAPER_METHODS.get(name)
        return f"'{name}': {plan.paper}" + (f" (protocol paper: {paper.paper})" if paper else "")

    return "; ".join(one(name, plan) for name, plan in METHODS.items()) + "."


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
        description=_method_help(),
    )
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
    review_principles: bool = Field(
        default=False,
        description="Pause after stage 1 so a human can approve the principles, edit them, or reject them with "
        "a note (they are refined once with it and reviewed again).",
    )
    random_seed: int = Field(
        default=0, description="Seed of the methods that pick at random (seed-rubric under protocol paper)."
    )
    speculate: bool = Field(
        default=False,
        description="Draft the response from each principles draft while the critic judges that draft "
        "(methods that draft principles, without review_principles); the draft is used when the principles "
        "stage ends there and discarded when they are refined. Same results, one model latency less per run; "
        "each discarded draft is one more base-model call (counted in calls and speculative_wasted).",
    )

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
