"""`spri --version` answers without loading the run options, the models or the graph; `spri --help`
without the API and the graph."""

from __future__ import annotations

import subprocess
import sys

from spri import __version__


def in_fresh_python(*lines: str) -> list[str]:
    """What ``lines`` print, run in a fresh interpreter (so sys.modules shows what they imported)."""
    done = subprocess.run([sys.executable, "-c", "\n".join(lines)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_version_loads_nothing_heavy():
    printed = in_fresh_python(
        "import sys",
        "from spri.cli import main",
        "code = main(['--version'])",
        "print(code, sorted(m for m in sys.modules if m.startswith(('spri.', 'langchain', 'langgraph', 'pydantic'))))",
    )
    assert printed == [f"spri {__version__}", "0 ['spri.cli']"]


def test_help_builds_without_the_api_or_the_graph():
    printed = in_fresh_python(
        "import sys",
        "from spri.cli.parsers import build_parser",
        "assert 'threads' in build_parser().format_help()",
        "print(sorted(m for m in ('spri.api', 'spri.graph', 'langgraph', 'spri.batch.runner') if m in sys.modules))",
    )
    assert printed == ["[]"]
