"""`spri eval meta | reappraisal | rubric`: reproduce the paper's tables, or evaluate methods live."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from spri.cli.handlers import command
from spri.options import add_run_options, context_overrides, run_options

REAPPRAISAL_COLUMNS = ("model", "method", "alignment", "empathy", "n")


def _outputs(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("output")
    group.add_argument("--json", action="store_true", help="print the rows as a JSON list instead of a table")
    group.add_argument("--markdown", metavar="FILE", help="also write the table as Markdown")
    group.add_argument("--csv", metavar="FILE", help="also write the table as CSV")


NOT_LIVE = ("profile", "method", "review_principles", "paper_seeds")
"""Run options a live evaluation does not take from the command line: profile and method are set per
evaluated method, a review would pause it, and it has its own --paper-seeds (defaulting to the data's)."""

LIVE_OPTIONS = tuple(option.field for option in run_options() if option.field not in NOT_LIVE)
"""The run options a live evaluation takes: every other one (a new run option included)."""


def _live(parser: argparse.ArgumentParser) -> None:
    live = parser.add_argument_group("live run")
    live.add_argument("--methods", help="comma-separated methods to compare")
    live.add_argument("--out", metavar="DIR", help="output folder (items.jsonl, report.md, ...); default ./spri-eval")
    live.add_argument("--limit", type=int, help="only the first N items")
    live.add_argument("--concurrency", type=int, default=4, help="items in flight at once (default 4)")
    live.add_argument(
        "--paper-seeds",
        metavar="DIR",
        help="protocol paper: the folder of the paper's released seed files (reappraisal_constitutions_6.jsonl, "
        "principles_6.jsonl); default: seeds/ beside the data file's folder, as released",
    )
    add_run_options(parser.add_argument_group("run options"), run_options(LIVE_OPTIONS))


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """The `eval` command with its kinds (meta, reappraisal, rubric)."""
    evaluate = command(sub, "eval", "spri.eval.cli:run", help="evaluate methods; reproduce the paper's tables")
    kinds = evaluate.add_subparsers(dest="eval_command", required=True, metavar="KIND")

    meta = kinds.add_parser("meta", help="judge-human agreement from a judgments CSV (Table 2)")
    meta.add_argument("file", help="CSV with judge_model, method, id, capability, human_score, judge_score")
    meta.add_argument("--drop-invalid", action="store_true", help="drop rows whose human score is -1")
    _outputs(meta)

    reappraisal = kinds.add_parser("reappraisal", help="reappraisal scores: from judge outputs (Table 1) or live")
    source = reappraisal.add_mutually_exclusive_group(required=True)
    source.add_argument("--judged", metavar="FILE", help="JSONL of model, method, id and raw judge outputs")
    source.add_argument("--posts", metavar="FILE", help="RESORT items to generate for and judge (live)")
    reappraisal.add_argument("--judge", help="judge model spec (live; default: the base model)")
    reappraisal.add_argument(
        "--ablation",
        choices=("seeds", "min-score"),
        help="live, protocol paper: compare the paper's SPRI ablations instead of methods (seeds: none, "
        "Principle-Instruct, all 6 constitutions, the item's dimension's one; min-score: 4 against 5)",
    )
    _live(reappraisal)
    _outputs(reappraisal)

    rubric = kinds.add_parser("rubric", help="meta-evaluate judging methods live on human-scored responses")
    rubric.add_argument("--instances", required=True, help="BiGGen-style instances JSONL")
    rubric.add_argument("--responses", required=True, help="JSONL of id, response, human_score")
    rubric.add_argument("--with-reference", action="store_true", help="show the reference answer (default: free)")
    _live(rubric)
    _outputs(rubric)
    return evaluate


def _emit(args: argparse.Namespace, rows: Sequence[BaseModel], columns: Sequence[str], digits: int) -> None:
    """The table: as text (or JSON rows, which add each row's significance marks where it has them),
    and as Markdown and CSV files when asked."""
    from spri.eval import report

    if args.markdown:
        Path(args.markdown).write_text(report.markdown_table(rows, columns, digits) + "\n", encoding="utf-8")
    if args.csv:
        Path(args.csv).write_text(report.csv_text(rows, columns), encoding="utf-8")
    marked = (*columns, "significance") if rows and "significance" in type(rows[0]).model_fields else columns
    print(report.json_rows(rows, marked) if args.json else report.text_table(rows, columns, digits))


def _methods(args: argparse.Namespace, default: Sequence[str]) -> list[str]:
    return [m.strip() for m in (args.methods or ",".join(default)).split(",") if m.strip()]


def _options(args: argparse.Namespace) -> dict[str, Any]:
    options = context_overrides(args, run_options(LIVE_OPTIONS))
    options.pop("model", None)
    return options


def _progress(describe: Callable[[dict[str, Any]], str]) -> Callable[[dict[str, Any]], None]:
    count = {"n": 0}

    def report(record: dict[str, Any]) -> None:
        count["n"] += 1
        print(f"[{count['n']} done] {describe(record)}", file=sys.stderr, flush=True)

    return report


def run(args: argparse.Namespace) -> int:
    if args.eval_command == "meta":
        from spri.eval.meta import META_COLUMNS, meta_table, method_rank, read_judgments
        from spri.eval.report import pivot_markdown

        table = meta_table(read_judgments(args.file), drop_invalid=args.drop_invalid)
        _emit(args, table, META_COLUMNS, 3)
        if not args.json:
            print("\nPearson by method and judge model (the paper's Table 2 layout):")
            print(pivot_markdown(table, "method", "judge_model", "pearson", order=method_rank))
        return 0
    if args.eval_command == "reappraisal" and args.judged:
        from spri.eval.reappraisal_scores import reappraisal_table
        from spri.jsonl import read_jsonl

        _emit(args, reappraisal_table(read_jsonl(args.judged)), REAPPRAISAL_COLUMNS, 2)
        return 0
    common = {
        "model": args.model or _default_model(),
        "out_dir": args.out or "spri-eval",
        "limit": args.limit,
        "concurrency": args.concurrency,
        "paper_seeds": args.paper_seeds,
        **_options(args),
    }
    _warn(args, common)
    rows, columns, digits = (
        _live_reappraisal(args, common) if args.eval_command == "reappraisal" else _live_rubric(args, common)
    )
    _emit(args, rows, columns, digits)
    _warn_unparsed(rows)
    print(f"report: {Path(common['out_dir']) / 'report.md'}", file=sys.stderr)
    return 0


def _warn_unparsed(rows: Sequence[BaseModel]) -> None:
    """Say so on stderr when a method's judgments did not parse (its row shows '-' for what they miss)."""
    for row in rows:
        unparsed, parsed = getattr(row, "unparsed", 0), getattr(row, "n", 0)
        if not unparsed:
            continue
        what = "none of its judgments parsed" if not parsed else f"{unparsed} of {unparsed + parsed} did not parse"
        name = f"{getattr(row, 'method', '')} ({getattr(row, 'judge_model', '')})"
        print(f"spri eval: warning: {name}: {what}", file=sys.stderr)


def _live_reappraisal(args: argparse.Namespace, common: dict[str, Any]) -> tuple[Sequence[BaseModel], Any, int]:
    from spri.eval.methods import compared
    from spri.eval.reappraisal import columns, evaluate_reappraisal

    def describe(r: dict[str, Any]) -> str:
        return f"{r['method']} {r['id']}: alignment {r['alignment']}, empathy {r['empathy']}"

    judge = args.judge or common["model"]
    methods = _methods(args, compared("reappraisal"))
    run = evaluate_reappraisal(
        args.posts, methods, judge=judge, ablation=args.ablation, on_done=_progress(describe), **common
    )
    protocol = "paper" if args.ablation else common.get("protocol", "default")
    return asyncio.run(run), columns(protocol), 2


def _live_rubric(args: argparse.Namespace, common: dict[str, Any]) -> tuple[Sequence[BaseModel], Any, int]:
    from spri.eval.meta import META_COLUMNS
    from spri.eval.methods import compared
    from spri.eval.rubric import evaluate_rubric

    def describe(r: dict[str, Any]) -> str:
        return f"{r['method']} {r['key']}: judge {r['judge_score']}, human {r['human_score']}"

    methods = _methods(args, compared("rubric"))
    meta = evaluate_rubric(
        args.instances,
        args.responses,
        methods,
        with_reference=args.with_reference,
        on_done=_progress(describe),
        **common,
    )
    return asyncio.run(meta), META_COLUMNS, 3


def _warn(args: argparse.Namespace, common: dict[str, Any]) -> None:
    """Under protocol paper: a base model that is its own critic (the paper's critic is a separate model),
    and the paper's leaked reappraisal seeds."""
    from spri.api import Context, model_name
    from spri.eval.arms import LEAK_NOTE

    if common.get("protocol") != "paper" and not getattr(args, "ablation", None):
        return
    critic = common.get("critic_model")
    ctx = Context(model=common["model"], **({"critic_model": critic} if critic else {}))
    if model_name(ctx.critic) == model_name(ctx.model):
        print(
            f"spri eval: warning: protocol paper with the base model ({model_name(ctx.model)}) as its own critic; "
            "the paper's critic is a separate model (Prometheus-2-8x7B): set --critic",
            file=sys.stderr,
        )
    spri = "spri" in _methods(args, ("spri",)) or getattr(args, "ablation", None)
    if args.eval_command == "reappraisal" and spri and not common.get("seeds"):
        print(f"spri eval: note: {LEAK_NOTE}", file=sys.stderr)


def _default_model() -> str:
    from spri.api import Context

    model = Context().model
    return model if isinstance(model, str) else "local"
