"""The installed package: graph/, nodes/, state/ live under spri.* and nothing named graph or state leaks."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_wheel_layout_and_imports_from_outside_the_repo(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    wheel = next(tmp_path.glob("spri-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for expected in (
        "spri/__init__.py",
        "spri/graph/graph.py",
        "spri/nodes/principles.py",
        "spri/nodes/prompts/general.toml",
        "spri/nodes/seeds/general.jsonl",
        "spri/state/context.py",
        "spri/eval/judges.toml",
    ):
        assert expected in names
    assert not any(n.split("/")[0] in ("graph", "nodes", "state", "tests") for n in names)

    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(target)}
    probe = (
        "import spri, spri.graph, spri.nodes, spri.state\n"
        f"assert spri.__file__.startswith({str(target)!r}), spri.__file__\n"
        "from spri.state import load_profile, load_seeds\n"
        "assert load_profile('general').name == 'general' and load_seeds('default', 'general')\n"
        "from spri import build_graph\n"
        "assert 'judge_principles' in build_graph().get_graph().nodes\n"
        "for name in ('graph', 'nodes', 'state'):\n"
        "    try:\n"
        "        __import__(name)\n"
        "    except ModuleNotFoundError:\n"
        "        pass\n"
        "    else:\n"
        "        raise SystemExit(f'import {name} should fail')\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=elsewhere, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
