"""The layering of ARCHITECTURE.md stays true: each layer imports only what lies below it, surfaces reach
the engine only through spri.api (and spri.options), and files and functions stay small."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import spri

ROOT = Path(__file__).resolve().parents[2]
SOURCE_DIRS = {"spri": "spri", "graph": "spri.graph", "nodes": "spri.nodes", "state": "spri.state"}

LAYERS = [
    ("state", ("spri.state",)),
    ("io", ("spri.jsonl",)),
    ("models", ("spri.models",)),
    ("nodes", ("spri.nodes",)),
    ("graph", ("spri.graph",)),
    (
        "api",
        (
            "spri.api",
            "spri.inputs",
            "spri.threads",
            "spri.results",
            "spri.embedding",
            "spri.feedback",
            "spri.storage",
            "spri.errors",
            "spri.options",
        ),
    ),
    ("surfaces", ("spri.cli", "spri.server", "spri.batch", "spri.chat", "spri.eval")),
]
"""Lowest first. A module may import modules of its own layer or of lower layers."""

SURFACE_ENGINE_DOORS = ("spri.api", "spri.options", "spri.jsonl")
"""The only modules below the surfaces that a surface may import (spri.jsonl: files, not the engine)."""


def modules() -> dict[str, Path]:
    found = {}
    for folder, package in SOURCE_DIRS.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            parts = path.relative_to(ROOT / folder).with_suffix("").parts
            name = ".".join((package, *parts)).removesuffix(".__init__")
            found[name] = path
    return found


def layer_of(module: str) -> int | None:
    for rank, (_, prefixes) in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return rank
    return None


def imports(path: Path) -> set[str]:
    """Every absolute module a file imports, at any depth (function-level imports count too)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
            if node.module == "spri":  # `from spri import X` is an import of the module X comes from
                names.update(spri._EXPORTS[alias.name] for alias in node.names if alias.name in spri._EXPORTS)
    return names


def test_every_module_has_a_layer():
    unplaced = [m for m in modules() if m != "spri" and layer_of(m) is None]
    assert not unplaced, f"add these to a layer in ARCHITECTURE.md and LAYERS: {unplaced}"


@pytest.mark.parametrize("module", sorted(m for m in modules() if m != "spri"))
def test_imports_follow_the_layers(module):
    path = modules()[module]
    rank = layer_of(module)
    assert rank is not None
    surfaces = rank == len(LAYERS) - 1
    known = modules()
    for name in sorted(imports(path)):
        if name.startswith("langgraph") and surfaces:
            pytest.fail(f"{module} imports {name}: surfaces reach LangGraph only through spri.api")
        if name == "spri" or not name.startswith("spri.") or name not in known:
            continue  # third-party, or an attribute imported from a spri module (checked via the module)
        target = layer_of(name)
        assert target is not None
        assert target <= rank, f"{module} ({LAYERS[rank][0]}) imports {name} ({LAYERS[target][0]}), a higher layer"
        if surfaces and target < rank:
            assert any(name == door or name.startswith(door + ".") for door in SURFACE_ENGINE_DOORS), (
                f"{module} imports {name}: surfaces use only {', '.join(SURFACE_ENGINE_DOORS)} from the engine"
            )


def test_files_and_functions_stay_small():
    too_long = []
    for module, path in modules().items():
        source = path.read_text(encoding="utf-8")
        if source.count("\n") > 400:
            too_long.append(f"{module}: {source.count(chr(10))} lines")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.end_lineno is not None:
                length = node.end_lineno - node.lineno + 1
                if length > 60:
                    too_long.append(f"{module}.{node.name}: {length} lines")
    assert not too_long, "split these (files <= 400 lines, functions <= 60): " + "; ".join(too_long)


def test_pyproject_lists_every_package_folder():
    """A folder with an ``__init__.py`` left out of pyproject's ``packages`` is missing from the wheel
    (the installed ``spri`` then fails on import); caught here in the fast lane, not only by the wheel build."""
    import tomllib

    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    folders = {installed: ROOT / source for installed, source in setuptools["package-dir"].items()}
    found = set()
    for installed, folder in folders.items():
        for init in folder.rglob("__init__.py"):
            if "__pycache__" not in init.parts:
                relative = init.parent.relative_to(folder).parts
                found.add(".".join((installed, *relative)))
    assert found - set(setuptools["packages"]) == set(), "add these to [tool.setuptools] packages"
