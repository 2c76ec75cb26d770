"""`spri --version` answers without loading the run options, the models or the graph; `spri --help`
without the API and the graph."""

from __future__ import annotations

import subprocess
import sys

from spri import __version__


def test_version_loads_nothing_heavy():
    probe = (
        "import sys\n"
        "from spri.cli import main\n"
        "code = main(['--version'])\n"
        "print(code, sorted(m for m in sys.modules if m.startswith(('spri.', 'langchain', 'langgraph', 'pydantic'))))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [f"spri {__version__}", "0 ['spri.cli']"]


def test_help_builds_without_the_api_or_the_graph():
    probe = (
        "import sys\n"
        "from spri.cli.parsers import build_parser\n"
        "assert 'threads' in build_parser().format_help()\n"
        "print(sorted(m for m in ('spri.api', 'spri.graph', 'langgraph', 'spri.batch.runner') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
