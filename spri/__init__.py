"""SPRI: Situated-PRInciples on LangGraph.

    from spri import run
    result = run("How should I tell my manager I burned out?")
    print(result.principles, result.response, result.stop_reason)

Names are imported on first use, so `spri --help` does not pay for loading LangGraph.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "Result": "spri.api",
    "Update": "spri.api",
    "arun": "spri.api",
    "astream": "spri.api",
    "run": "spri.api",
    "build_graph": "spri.graph",
    "as_tool": "spri.chat",
    "spri_node": "spri.chat",
    "spri_tool": "spri.chat",
    "Context": "spri.state",
    "Critique": "spri.state",
    "Input": "spri.state",
    "Output": "spri.state",
    "SpriError": "spri.state",
}

__all__ = [
    "Context",
    "Critique",
    "Input",
    "Output",
    "Result",
    "SpriError",
    "Update",
    "arun",
    "as_tool",
    "astream",
    "build_graph",
    "run",
    "spri_node",
    "spri_tool",
]

if TYPE_CHECKING:
    from spri.api import Result, Update, arun, astream, run
    from spri.chat import as_tool, spri_node, spri_tool
    from spri.graph import build_graph
    from spri.state import Context, Critique, Input, Output, SpriError


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'spri' has no attribute {name!r}")
