"""The SPRI graph's wiring (installed as ``spri.graph``)."""

from spri.graph.graph import build_graph, graph

__all__ = ["build_graph", "graph"]
