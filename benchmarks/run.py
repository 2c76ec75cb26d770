"""Run the benchmarks and regenerate benchmarks/RESULTS.md (`make bench`, or `python benchmarks/run.py p1 p2`).

Each benchmark module ``bench_*.py`` declares ``SECTION = "pN"`` and has ``measure()`` (async) and
``report(results) -> str`` (a Markdown section whose first line is its ``## PN`` heading). Sections of
benchmarks not run this time are kept from the file.
"""

from __future__ import annotations

import asyncio
import datetime
import importlib
import os
import platform
import re
import subprocess
import sys
from pathlib import Path

from harness import HERE

RESULTS = HERE / "RESULTS.md"


def discover() -> dict[str, str]:
    """Section name (p1, p2, ...) -> module, for every ``bench_*.py`` declaring ``SECTION = "pN"``."""
    found = {}
    for path in sorted(HERE.glob("bench_*.py")):
        match = re.search(r'(?m)^SECTION = "(p\d+)"', path.read_text(encoding="utf-8"))
        if match:
            found[match.group(1)] = path.stem
    return dict(sorted(found.items(), key=lambda item: int(item[0][1:])))


BENCHMARKS = discover()


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=HERE
        ).stdout.strip()
    except OSError:
        commit = "?"
    return (
        f"Machine: {cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()} "
        f"{platform.release()}. Commit {commit or '?'}, run {datetime.datetime.now():%Y-%m-%d %H:%M}."
    )


def _sections(text: str) -> dict[str, str]:
    """The file's sections by key: ``pN`` for a benchmark's, the heading's words for others."""
    found = {}
    for part in re.split(r"(?m)^(?=## )", text):
        heading = re.match(r"## (P\d+\b)?(.*)", part)
        if heading:
            found[(heading.group(1) or heading.group(2)).strip().lower()] = part.strip()
    return found


def _order(key: str) -> tuple[int, str]:
    """Benchmarks' sections by number, then the others (side-by-side comparisons)."""
    return (int(key[1:]), "") if re.fullmatch(r"p\d+", key) else (10**6, key)


def write_sections(new: dict[str, str]) -> None:
    """Put ``new`` sections (by key) into RESULTS.md, keeping the others from the file."""
    sections = _sections(RESULTS.read_text()) if RESULTS.exists() else {}
    sections.update(new)
    header = [
        "# Benchmark results",
        "",
        "Regenerate with `make bench` (all) or `.venv/bin/python benchmarks/run.py p1 p2 ...`; compare two "
        "commits with `.venv/bin/python benchmarks/compare.py BASE [HEAD] p9 p8`.",
        "Timings are ratios measured side by side in one run; see each module's docstring for the method.",
        "",
        machine(),
        "",
    ]
    body = [sections[key] for key in sorted(sections, key=_order)]
    RESULTS.write_text("\n".join(header) + "\n" + "\n\n".join(body) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS}", file=sys.stderr)


def main(names: list[str]) -> None:
    names = names or list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        raise SystemExit(f"unknown benchmark(s) {unknown}; choose from {list(BENCHMARKS)}")
    sections = {}
    for name in names:
        module = importlib.import_module(BENCHMARKS[name])
        print(f"running {name} ({module.__name__}) ...", file=sys.stderr, flush=True)
        sections[name] = module.report(asyncio.run(module.measure()))
        print(sections[name], file=sys.stderr)
    write_sections(sections)


if __name__ == "__main__":
    main(sys.argv[1:])
