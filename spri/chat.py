"""Deprecated name of :mod:`spri.agent_adapters` (SPRI as a node of a MessagesState graph, or as a tool):
kept so code that imports ``spri.chat`` keeps working. Import from ``spri.agent_adapters`` (or ``spri``)."""

from __future__ import annotations

import warnings

from spri.agent_adapters import as_tool, spri_node, spri_tool

__all__ = ["as_tool", "spri_node", "spri_tool"]

warnings.warn(
    "spri.chat is deprecated: import spri_node, spri_tool and as_tool from spri.agent_adapters (or spri)",
    DeprecationWarning,
    stacklevel=2,
)
