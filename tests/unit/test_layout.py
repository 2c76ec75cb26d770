"""The layering of ARCHITECTURE.md stays true: each layer imports only what lies below it, surfaces reach
the engine only through spri.api (and spri.options), dependencies' private names are used only in
spri.compat, and files and functions stay small. An import counts however it is written: absolute,
relative, or named by a string (``import_module``, ``__import__``, a "module:attribute" path)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import spri

ROOT = Path(__file__).resolve().parents[2]
SOURCE_DIRS = {"spri": "spri", "graph": "spri.graph", "nodes": "spri.nodes", "state": "spri.state"}

LAYERS = [
    ("state", ("spri.state",)),
    ("compat", ("spri.compat",)),
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
            "spri.subgraph",
            "spri.feedback",
            "spri.storage",
            "spri.errors",
            "spri.options",
        ),
    ),
    (
        "surfaces",
        ("spri.cli", "spri.server", "spri.mcp", "spri.batch", "spri.agent_adapters", "spri.chat", "spri.eval"),
    ),
]
"""Lowest first. A module may import modules of its own layer or of lower layers."""

SURFACE_ENGINE_DOORS = ("spri.api", "spri.options", "spri.jsonl", "spri.compat")
"""The only modules below the surfaces that a surface may import (spri.jsonl: files, and spri.compat:
dependencies' private names, not the engine)."""

NEVER_IN_SURFACES = ("spri.state", "spri.models", "spri.nodes", "spri.graph", "spri.storage", "langgraph")
"""What the surfaces never import (ARCHITECTURE.md's table): the engine's layers and LangGraph itself."""

COMPATIBILITY_MODULE = "spri.compat"
"""The one module that may use another distribution's private names."""


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


def _absolute(node: ast.ImportFrom, module: str, path: Path) -> str:
    """The module a ``from ... import`` names, relative ones resolved against ``module``."""
    if node.level == 0:
        return node.module or ""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
    return f"{base}.{node.module}" if node.module else base


def _named_by_string(node: ast.AST, known: set[str]) -> set[str]:
    """Modules a string names: the argument of ``import_module``/``__import__``, or a path to an object
    of ours, "spri.x:attribute" (how entry points and app factories are named). Other strings that
    look like module names (logger names) import nothing."""
    if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
        callee = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        if callee in ("import_module", "__import__") and isinstance(node.args[0].value, str):
            return {node.args[0].value}
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and ":" in node.value:
        name = node.value.partition(":")[0]
        if name in known:
            return {name}
    return set()


def imports(path: Path, module: str = "", known: set[str] | None = None) -> set[str]:
    """Every module a file imports, at any depth (function-level imports count too): absolute imports,
    relative ones (resolved), and modules named by strings."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            source = _absolute(node, module, path)
            names.add(source)
            names.update(f"{source}.{alias.name}" for alias in node.names)
            if source == "spri":  # `from spri import X` is an import of the module X comes from
                names.update(spri._EXPORTS[alias.name] for alias in node.names if alias.name in spri._EXPORTS)
        names |= _named_by_string(node, known or set())
    names.discard("__future__")
    return names


def _imports_of(module: str) -> set[str]:
    known = modules()
    return imports(known[module], module, set(known))


def test_every_module_has_a_layer():
    unplaced = [m for m in modules() if m != "spri" and layer_of(m) is None]
    assert not unplaced, f"add these to a layer in ARCHITECTURE.md and LAYERS: {unplaced}"


@pytest.mark.parametrize("module", sorted(m for m in modules() if m != "spri"))
def test_imports_follow_the_layers(module):
    rank = layer_of(module)
    assert rank is not None
    surfaces = rank == len(LAYERS) - 1
    known = modules()
    for name in sorted(_imports_of(module)):
        if surfaces and any(name == never or name.startswith(never + ".") for never in NEVER_IN_SURFACES):
            pytest.fail(f"{module} imports {name}: surfaces reach the engine and LangGraph only through spri.api")
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


def private_names(name: str) -> list[str]:
    """The parts of a dotted name that are private (start with one underscore, not a dunder)."""
    return [part for part in name.split(".") if part.startswith("_") and not part.startswith("__")]


@pytest.mark.parametrize("module", sorted(m for m in modules() if m != COMPATIBILITY_MODULE))
def test_no_private_name_of_another_distribution_outside_the_compatibility_module(module):
    theirs = [name for name in _imports_of(module) if name.split(".")[0] != "spri" and private_names(name)]
    assert not theirs, f"{module} uses {theirs}: use the public API, or put it in {COMPATIBILITY_MODULE}"


STDLIB_PRIVATE_READS = {"spri.cli.reference": {"_actions"}}
"""Private attributes of the standard library read outside spri.compat (argparse lists no sub-commands)."""


def private_attribute_reads(tree: ast.AST) -> set[str]:
    """Private attribute names read or written by name: ``getattr(x, "_name")``, ``setattr``, ``hasattr``."""
    return {
        call.args[1].value
        for call in ast.walk(tree)
        if isinstance(call, ast.Call)
        and isinstance(call.func, ast.Name)
        and call.func.id in ("getattr", "setattr", "hasattr")
        and len(call.args) >= 2
        and isinstance(call.args[1], ast.Constant)
        and isinstance(call.args[1].value, str)
        and private_names(call.args[1].value)
    }


@pytest.mark.parametrize("module", sorted(m for m in modules() if m != COMPATIBILITY_MODULE))
def test_no_private_attribute_read_by_name_outside_the_compatibility_module(module):
    """``getattr(client, "_transport")`` reaches into a dependency as surely as importing a private name."""
    tree = ast.parse(modules()[module].read_text(encoding="utf-8"))
    found = private_attribute_reads(tree) - STDLIB_PRIVATE_READS.get(module, set())
    assert not found, f"{module} reads {sorted(found)} by name: use the public API, or put it in {COMPATIBILITY_MODULE}"


def test_the_private_attribute_check_sees_getattr_setattr_and_hasattr():
    tree = ast.parse("getattr(c, '_transport', None)\nsetattr(p, '_backend', b)\nhasattr(x, '__dict__')\n")
    assert private_attribute_reads(tree) == {"_transport", "_backend"}


def test_the_layout_checks_see_relative_and_string_imports(tmp_path):
    """The checks above read every way of importing (a check that misses one would pass vacuously)."""
    package = tmp_path / "spri" / "surface"
    package.mkdir(parents=True)
    source = package / "mod.py"
    source.write_text(
        "from . import sibling\n"
        "from ..models import resolve\n"
        "import importlib\n"
        "importlib.import_module('ray._raylet')\n"
        "__import__('langgraph._internal._constants')\n"
        "FACTORY = 'spri.state.context:Context'\n"
        "LOGGER = logging.getLogger('spri.batch')\n"
    )
    found = imports(source, "spri.surface.mod", {"spri.state.context", "spri.models", "spri.batch"})
    assert {"spri.surface.sibling", "spri.models.resolve", "spri.state.context"} <= found
    assert {"ray._raylet", "langgraph._internal._constants"} <= found
    assert "spri.batch" not in found  # a logger's name
    assert private_names("langgraph._internal._constants") == ["_internal", "_constants"]
    assert private_names("spri.__init__") == []


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
