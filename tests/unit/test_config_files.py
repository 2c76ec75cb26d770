"""The files that configure SPRI from outside stay complete: .env.example names every environment
variable the code reads, and langgraph.json points at the installed graph with its serde allowlist."""

from __future__ import annotations

import json
import re

from spri.api import build_graph
from tests.support import ROOT

READS = re.compile(r"""(?:environ\.get|environ\[|getenv|_env_model|_number)\(?\s*["']([A-Z][A-Z0-9_]+)["']""")
SOURCES = ("spri", "graph", "nodes", "state")


def variables_read() -> set[str]:
    found = set()
    for folder in SOURCES:
        for path in (ROOT / folder).rglob("*.py"):
            found.update(READS.findall(path.read_text(encoding="utf-8")))
    return found


def test_env_example_lists_every_variable_the_code_reads():
    read = variables_read()
    assert {"SPRI_MODEL", "OPENAI_BASE_URL", "SPRI_TIMEOUT", "SPRI_SERVE_DB", "SPRI_API_KEYS"} <= read  # the scan works
    listed = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.MULTILINE))
    assert not read - listed, f"add to .env.example: {sorted(read - listed)}"


def test_langgraph_json_names_the_installed_graph_and_its_types():
    config = json.loads((ROOT / "langgraph.json").read_text())
    graph = config["graphs"]["spri"]
    module, _, attribute = graph["path"].partition(":")
    assert "/" not in module and graph["description"]
    imported = __import__(module, fromlist=[attribute])
    assert getattr(imported, attribute).get_graph().nodes.keys() == build_graph().get_graph().nodes.keys()
    assert config["env"] == ".env"
    allowed = {tuple(pair) for pair in config["checkpointer"]["serde"]["allowed_msgpack_modules"]}
    from spri.storage import CHECKPOINT_TYPES

    assert allowed == set(CHECKPOINT_TYPES)  # the same types the checkpointers spri opens allow
    ttl = config["checkpointer"]["ttl"]  # LangGraph's deployed server deletes threads idle for 30 days
    assert ttl["strategy"] == "delete" and ttl["default_ttl"] == 30 * 24 * 60 and ttl["sweep_interval_minutes"] > 0
