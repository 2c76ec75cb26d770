"""SPRI's graph state, runtime context and task profiles (installed as ``spri.state``)."""

from spri.state.context import METHODS, Context, Method, MethodSpec, ModelSpec, SeedPolicy, model_name
from spri.state.errors import InputError, ProfileError, SpriError
from spri.state.profile import Profile, Seed, load_profile, load_seeds, select_seeds
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
    "MethodSpec",
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
    "load_profile",
    "load_seeds",
    "model_name",
    "select_seeds",
    "stop_reason",
]
