"""SPRI: Situated-PRInciples on LangGraph.

    from spri import run
    result = run("How should I tell my manager I burned out?")
    print(result.principles, result.response, result.stop_reason)

Names are imported on first use, so `spri --help` does not pay for loading LangGraph.
"""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

try:
    __version__ = version("spri")
except PackageNotFoundError:  # pragma: no cover - running from a source tree that was never installed
    __version__ = "0+unknown"

_EXPORTS = {
    "Result": "spri.api",
    "Update": "spri.api",
    "arun": "spri.api",
    "astream": "spri.api",
    "run": "spri.api",
    "Thread": "spri.api",
    "Token": "spri.api",
    "load_thread": "spri.api",
    "build_graph": "spri.graph",
    "as_tool": "spri.agent_adapters",
    "spri_node": "spri.agent_adapters",
    "spri_tool": "spri.agent_adapters",
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
    "Thread",
    "Token",
    "Update",
    "arun",
    "as_tool",
    "astream",
    "build_graph",
    "load_thread",
    "run",
    "spri_node",
    "spri_tool",
]

if TYPE_CHECKING:
    from spri.agent_adapters import as_tool, spri_node, spri_tool
    from spri.api import Result, Thread, Token, Update, arun, astream, load_thread, run
    from spri.graph import build_graph
    from spri.state import Context, Critique, Input, Output, SpriError


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'spri' has no attribute {name!r}")
