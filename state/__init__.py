"""SPRI's graph state, runtime context and task profiles (installed as ``spri.state``)."""

from spri.state.context import METHODS, Context, Method, MethodPlan, ModelSpec, SeedPolicy, model_name
from spri.state.errors import InputError, ProfileError, SpriError
from spri.state.profile import Profile, Seed
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
    "STAGES",
    "Context",
    "Critique",
    "Input",
    "InputError",
    "Method",
    "MethodPlan",
    "ModelSpec",
    "Output",
    "Profile",
    "ProfileError",
    "Seed",
    "SeedPolicy",
    "SpriError",
    "Stage",
    "State",
    "StopReason",
    "Usage",
    "check_input",
    "model_name",
    "stop_reason",
]
