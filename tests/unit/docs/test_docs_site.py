"""The README and the docs site: short README that names the test command, a graph drawing that is
the graph's, and a CLI reference generated from the parsers (so a new sub-command appears in it)."""

from __future__ import annotations

import argparse
import re

from spri.cli.parsers import build_parser
from spri.cli.reference import commands, markdown
from spri.graph import build_graph
from tests.support import ROOT
from tests.support.docs import docs_block

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_readme_is_read_in_five_minutes_and_names_the_test_commands():
    assert len(README.splitlines()) <= 250
    for target in ("make demo", "make test", "make check", "make integration"):
        assert target in README


def test_the_readmes_graph_has_exactly_the_graphs_nodes_and_edges():
    drawing = re.sub(r'"[^"]*"', "", docs_block("flowchart LR"))  # edge labels name settings, not nodes
    drawn = set(re.findall(r"\b([a-z]+_[a-z]+|begin|finalize)\b", drawing))
    graph = build_graph().get_graph()
    nodes = {node for node in graph.nodes if not node.startswith("__")}
    assert drawn == nodes - {"speculate_response"}  # speculation runs inside judge_principles' step
    edges = set(re.findall(r"\b(\w+) (?:--[^>]*)?--> (\w+)", drawing))
    graph_edges = {
        (e.source, e.target) for e in graph.edges if not e.source.startswith("__") and not e.target.startswith("__")
    }
    assert {edge for edge in edges if "START" not in edge and "END" not in edge} <= graph_edges | {
        ("refine_principles", "judge_principles")
    }


def test_the_cli_reference_has_every_command_with_its_help():
    text = markdown()
    paths = [path for path, _ in commands(build_parser())]
    assert {"spri", "spri ask", "spri resume", "spri show", "spri batch", "spri serve", "spri eval meta"} <= set(paths)
    for path in paths:
        assert f"`{path}`" in text
    assert "--max-rounds" in text and "usage: spri ask" in text


def test_a_sub_command_added_to_the_parser_appears_in_the_reference():
    parser = argparse.ArgumentParser(prog="spri")
    sub = parser.add_subparsers(dest="command")
    tool = sub.add_parser("tool", help="a new command").add_subparsers(dest="what")
    tool.add_parser("list", description="Lists them.").add_argument("--all", help="every one")
    text = markdown(parser)
    assert "## `spri tool`" in text and "### `spri tool list`" in text
    assert "Lists them." in text and "--all" in text


def test_the_api_reference_lists_every_run_option_with_its_description():
    from docs.hooks import context_fields
    from spri.state.context import Context

    table = context_fields()
    for name, field in Context.model_fields.items():
        assert f"| `{name}` |" in table
        assert (field.description or "").split(".")[0] in table
    assert "| `protocol` | `'default' \\| 'paper'` | `'default'` |" in table
    assert "| `model` | `str \\| chat model` | from the environment |" in table
    assert "<!-- context-fields -->" in (ROOT / "docs" / "reference" / "api.md").read_text(encoding="utf-8")
