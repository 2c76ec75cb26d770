"""SPRI's graph state, runtime context and task profiles (installed as ``spri.state``)."""

from spri.state.context import RENAMED_FIELDS, Context, ModelSpec, Protocol, SeedPolicy, model_name
from spri.state.errors import InputError, ProfileError, SpriError
from spri.state.methods import METHODS, Evaluation, Method, MethodPlan, compared_in, plan_for
from spri.state.profile import Profile, Seed, StagePrompts
from spri.state.state import (
    STAGES,
    Critique,
    Input,
    Output,
    Stage,
    State,
    StopReason,
    Usage,
    check_input,
    stop_reason,
)

__all__ = [
    "METHODS",
    "RENAMED_FIELDS",
    "STAGES",
    "Context",
    "Critique",
    "Evaluation",
    "Input",
    "InputError",
    "Method",
    "MethodPlan",
    "ModelSpec",
    "Output",
    "Profile",
    "ProfileError",
    "Protocol",
    "Seed",
    "SeedPolicy",
    "SpriError",
    "Stage",
    "StagePrompts",
    "State",
    "StopReason",
    "Usage",
    "check_input",
    "compared_in",
    "model_name",
    "plan_for",
    "stop_reason",
]
