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

_PUBLIC = {
    "spri.api": ("Result", "Thread", "Token", "Update", "arun", "astream", "load_thread", "run"),
    "spri.graph": ("build_graph",),
    "spri.agent_adapters": ("as_tool", "spri_node", "spri_tool"),
    "spri.state": ("Context", "Critique", "Input", "Output", "SpriError"),
}
"""What ``spri`` offers, by the module each name comes from (imported when first used)."""
_EXPORTS = {name: module for module, names in _PUBLIC.items() for name in names}
__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:  # the same names, for type checkers
    from spri.agent_adapters import as_tool, spri_node, spri_tool  # noqa: F401
    from spri.api import Result, Thread, Token, Update, arun, astream, load_thread, run  # noqa: F401
    from spri.graph import build_graph  # noqa: F401
    from spri.state import Context, Critique, Input, Output, SpriError  # noqa: F401


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'spri' has no attribute {name!r}")
