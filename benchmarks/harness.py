"""What the benchmarks share: the input file of a batch, the fake endpoint, CPU time, medians with every
run, running one benchmark on its own (``python benchmarks/bench_x.py``), and the code of another
commit laid out as installed, to measure it side by side with this one (benchmarks/compare.py).

A benchmark module ``bench_*.py`` declares ``SECTION = "pN"`` and has ``measure()`` (async) and
``report(results) -> str`` (a Markdown section whose first line is its ``## PN`` heading); run.py
writes the sections into RESULTS.md. One that can be compared across commits also has
``headline(results) -> dict[str, float]``: its figures, by name, lower is better.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for _path in (str(HERE), str(ROOT)):  # the benchmarks, then the code they measure (this tree's)
    if _path not in sys.path:
        sys.path.insert(0, _path)

REPEATS_VARIABLE = "SPRI_BENCH_REPEATS"
"""Overrides how many measured repetitions a benchmark makes in one process (benchmarks/compare.py
makes several rounds of few, alternating the code measured)."""


ROUND_VARIABLE = "SPRI_BENCH_ROUND"
"""Which round of benchmarks/compare.py runs (0, 1, ...): a benchmark over a list of inputs may take the
next slice of it in each round, so that both commits run each slice back to back."""


def repeats(default: int) -> int:
    """How many measured repetitions to make: ``default``, unless $SPRI_BENCH_REPEATS says."""
    return int(os.environ.get(REPEATS_VARIABLE) or default)


def round_index() -> int:
    """The round of benchmarks/compare.py this run belongs to (0 when run on its own)."""
    return int(os.environ.get(ROUND_VARIABLE) or 0)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cpu_seconds() -> float:
    """CPU time (user + system) of this process so far."""
    times = os.times()
    return times.user + times.system


def write_items(folder: Path, count: int, name: str = "input.jsonl") -> str:
    """A batch input of ``count`` items (``id``, ``prompt``) in ``folder``; its path."""
    path = folder / name
    path.write_text("".join(json.dumps({"id": f"i{i}", "prompt": f"Question {i}?"}) + "\n" for i in range(count)))
    return str(path)


@contextmanager
def fake_endpoint(latency: float, score: int = 5) -> Iterator[str]:
    """benchmarks/fake_openai.py in a process of its own (every call ``latency`` seconds, critiques
    scoring ``score``), with ``openai:NAME`` models of this process pointed at it; yields its URL."""
    import fake_openai

    with fake_openai.running(free_port(), latency, score) as base_url:
        saved = {name: os.environ.get(name) for name in ("OPENAI_BASE_URL", "OPENAI_API_KEY")}
        os.environ.update(OPENAI_BASE_URL=base_url, OPENAI_API_KEY="bench")
        try:
            yield base_url
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


@contextmanager
def spri_server(folder: Path, model_url: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`spri serve` (one process, its SQLite database in ``folder``) with ``openai:fake`` models at
    ``model_url``; yields its URL and process, and stops it afterwards."""
    from tests.support.processes import cli_env, wait_for_http

    env = cli_env(
        folder,
        SPRI_MODEL="openai:fake",
        OPENAI_API_KEY="bench",
        OPENAI_BASE_URL=model_url,
        SPRI_SERVE_DB=str(folder / "serve.sqlite"),
    )
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "spri.cli", "serve", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(url + "/health", server)
        yield url, server
    finally:
        server.terminate()
        server.wait(10)


def spread(values: Sequence[float], digits: int = 2) -> dict[str, Any]:
    """The median of ``values`` and every value, rounded."""
    return {"median": round(statistics.median(values), digits), "runs": [round(v, digits) for v in values]}


def listed(values: Sequence[float], digits: int = 2) -> str:
    """Values as a Markdown cell: ``1.00, 2.00``."""
    return ", ".join(f"{v:.{digits}f}" for v in values)


def main(measure: Callable[[], Any], report: Callable[[Any], str]) -> None:
    """Run one benchmark: ``--json`` prints what it measured as JSON only (benchmarks/compare.py reads
    it), otherwise the JSON and then the report."""
    results = asyncio.run(measure())
    print(json.dumps(results, indent=2))
    if "--json" not in sys.argv[1:]:
        print(report(results))


SOURCE_PACKAGES = {"graph": "graph", "nodes": "nodes", "state": "state"}
"""Top-level folders installed inside the ``spri`` package (pyproject's package-dir)."""


def checkout(commit: str, into: Path) -> Path:
    """The code of ``commit`` under ``into``, laid out as installed (``spri/graph`` -> ``graph/``, ...),
    with this tree's benchmarks in place of its own so both are measured by the same code. Put first on
    ``sys.path`` (running a benchmark file there does), it is the ``spri`` that gets imported."""
    into.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "archive", commit], cwd=ROOT, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    for package, folder in SOURCE_PACKAGES.items():
        link = into / "spri" / package
        if not link.exists():
            link.symlink_to(into / folder, target_is_directory=True)
    shutil.rmtree(into / "benchmarks")
    shutil.copytree(HERE, into / "benchmarks", ignore=shutil.ignore_patterns("__pycache__", "RESULTS.md"))
    return into


def run_in(tree: Path, module: str, repetitions: int, round_: int = 0) -> Any:
    """``module``'s ``measure()`` on the code in ``tree`` (a process of its own), ``repetitions``
    measured repetitions, as round ``round_`` of a comparison; what it measured."""
    env = {**os.environ, REPEATS_VARIABLE: str(repetitions), ROUND_VARIABLE: str(round_), "PYTHONPATH": str(tree)}
    done = subprocess.run(
        [sys.executable, str(tree / "benchmarks" / f"{module}.py"), "--json"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)


def scratch(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
