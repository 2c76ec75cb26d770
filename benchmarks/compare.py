"""Benchmarks of two commits side by side, in one run: ``python benchmarks/compare.py BASE [HEAD] p9 p8``.

Each commit's code is laid out as installed in a temporary folder, with this tree's benchmarks in place
of its own (harness.checkout), so the same measuring code runs on both. Then ROUNDS rounds, each running
every benchmark once on each commit in turn (a process of its own per run, with few repetitions), so
load on a shared machine falls on both alike; a benchmark over a list of inputs takes the next slice of
it in each round (harness.round_index), so both commits run the same inputs back to back. Reported per
benchmark: each figure of its ``headline`` for each commit, median over the rounds and every round's
value, and the change. The section goes into RESULTS.md under "## Side by side" (run.py keeps it).
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import re
import shutil
import statistics
import subprocess
import sys
from typing import Any

import run
from harness import HERE, checkout, listed, run_in, scratch

ROUNDS, REPETITIONS = 3, 2
HEADING = "## Side by side"


def _commit(revision: str) -> str:
    done = subprocess.run(["git", "rev-parse", "--short", revision], cwd=HERE, capture_output=True, text=True)
    return done.stdout.strip() or revision


def measure(commits: list[str], names: list[str], rounds: int, repetitions: int) -> dict[str, Any]:
    """Every benchmark's headline figures per commit, one value per round."""
    folder = scratch("spri-compare-")
    try:
        trees = {commit: checkout(commit, folder / commit) for commit in commits}
        figures: dict[str, dict[str, dict[str, list[float]]]] = {name: {} for name in names}
        for round_ in range(rounds):
            for name in names:
                module = importlib.import_module(run.BENCHMARKS[name])
                for commit, tree in trees.items():
                    print(f"round {round_ + 1}: {name} on {commit}", file=sys.stderr, flush=True)
                    measured = run_in(tree, run.BENCHMARKS[name], repetitions, round_)
                    for figure, value in module.headline(measured).items():
                        figures[name].setdefault(figure, {}).setdefault(commit, []).append(value)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return figures


def titled(name: str) -> str:
    """A benchmark's name with its title from its module's docstring ("P9 — framework CPU per model call:
    ..."), as "P9 (framework CPU per model call)", so the report says what each one measures."""
    doc = importlib.import_module(run.BENCHMARKS[name]).__doc__ or ""
    title = re.split(r"[:.(]", doc.split("—", 1)[-1], maxsplit=1)[0].strip() if "—" in doc else ""
    return f"{name.upper()} ({title})" if title else name.upper()


def _change(before: float, after: float) -> str:
    """The relative change, or the absolute one where the base figure is 0 (a share of nothing copied)."""
    return f"{after / before - 1:+.1%}" if before else f"{after - before:+.3f}"


def report(figures: dict[str, Any], commits: list[str], rounds: int, repetitions: int) -> str:
    base, head = commits
    lines = [
        HEADING,
        "",
        f"{' and '.join(titled(name) for name in figures)} on commit {base} and on {head}, side by side in one run "
        f"({datetime.datetime.now():%Y-%m-%d %H:%M}): {rounds} rounds, each running every benchmark once on each "
        f"commit in turn ({repetitions} measured repetitions per run), with the same benchmark code "
        "(benchmarks/compare.py). Lower is better; each figure is the median over the rounds.",
        "",
        f"| benchmark | figure | {base} | all rounds | {head} | all rounds | change |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, by_figure in figures.items():
        for figure, values in by_figure.items():
            before, after = statistics.median(values[base]), statistics.median(values[head])
            lines.append(
                f"| {titled(name)} | {figure} | {before:.3f} | {listed(values[base], 3)} | {after:.3f} | "
                f"{listed(values[head], 3)} | {_change(before, after)} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("commits", nargs="+", help="the base commit, then the commit to compare (default HEAD)")
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--repetitions", type=int, default=REPETITIONS)
    args = parser.parse_args()
    names = [item for item in args.commits if re.fullmatch(r"p\d+", item)]
    revisions = [item for item in args.commits if item not in names]
    commits = [_commit(revision) for revision in [*revisions, "HEAD"][:2]]
    unknown = [name for name in names if name not in run.BENCHMARKS]
    if unknown or not names:
        raise SystemExit(f"name benchmarks to compare from {list(run.BENCHMARKS)} (unknown: {unknown})")
    section = report(measure(commits, names, args.rounds, args.repetitions), commits, args.rounds, args.repetitions)
    print(section)
    run.write_sections({"side by side": section})


if __name__ == "__main__":
    main()
