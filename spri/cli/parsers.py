"""The command line's grammar: one function per sub-command. Run options come from spri.options."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from importlib import import_module
from typing import Any

from spri import __version__
from spri.options import add_run_options, run_options

RESUME_OPTIONS = ("model", "critic_model")
"""What `resume` may override: the models (e.g. the endpoint moved); the rest is the thread's own."""


def handler(module: str, name: str) -> Callable[[argparse.Namespace], int]:
    """A command that imports its module only when run, so `spri --help` stays light."""

    def run(args: argparse.Namespace) -> int:
        command: Callable[[argparse.Namespace], int] = getattr(import_module(module), name)
        return command(args)

    return run


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="spri", description="SPRI: situated principles, then a response that follows them."
    )
    parser.add_argument("--version", action="version", version=f"spri {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_ask(sub)
    add_resume(sub)
    add_show(sub)
    add_batch(sub)
    add_serve(sub)
    from spri.eval.cli import add_parser as add_eval

    add_eval(sub).set_defaults(handler=handler("spri.eval.cli", "run"))
    return parser


def _db(parser: argparse._ActionsContainer) -> None:
    parser.add_argument("--db", help="checkpoint database: SQLite path or postgresql:// URL ($SPRI_DB)")


def _output(parser: argparse._ActionsContainer) -> None:
    parser.add_argument("--json", action="store_true", help="print the whole result as JSON")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")


def add_ask(sub: Any) -> None:
    ask = sub.add_parser("ask", help="run SPRI on one input", description="Run SPRI on one input.")
    ask.set_defaults(handler=handler("spri.cli.ask", "cmd_ask"))
    ask.add_argument("query", help="the input text, @FILE, or - for stdin")
    inputs = ask.add_argument_group("input fields (TEXT or @FILE)")
    inputs.add_argument("--goal", help="response goal (reappraisal profile)")
    inputs.add_argument("--reference", help="reference answer (rubric profile)")
    inputs.add_argument("--response", dest="response_to_judge", help="the answer to judge (rubric profile)")
    inputs.add_argument("--principles", help="principles to use (fixed-principles method)")
    inputs.add_argument("--category", help="input category, for --seed-policy category and *-rubric methods")
    inputs.add_argument(
        "--field",
        action="append",
        default=[],
        metavar="NAME=TEXT",
        help="another input field a profile names (e.g. system_prompt=@FILE); repeatable",
    )
    add_run_options(ask.add_argument_group("run options"), run_options())
    run = ask.add_argument_group("thread and output")
    run.add_argument("--thread", help="thread id for the checkpoint (default: a new one)")
    _db(run)
    _output(run)


def add_resume(sub: Any) -> None:
    resume = sub.add_parser("resume", help="continue an interrupted run", description="Continue an interrupted run.")
    resume.set_defaults(handler=handler("spri.cli.ask", "cmd_resume"))
    resume.add_argument("thread", help="thread id printed when the run started")
    review = resume.add_argument_group("answering a paused review")
    review.add_argument("--approve", action="store_true", help="approve the principles")
    review.add_argument("--edit", metavar="TEXT|@FILE", help="replace the principles")
    add_run_options(resume.add_argument_group("overrides of the saved settings"), run_options(RESUME_OPTIONS))
    _db(resume)
    _output(resume)


def add_show(sub: Any) -> None:
    show = sub.add_parser("show", help="print a run's stage history", description="Print a run's stage history.")
    show.set_defaults(handler=handler("spri.cli.show", "cmd_show"))
    show.add_argument("thread", help="thread id")
    _db(show)
    show.add_argument("--json", action="store_true", help="print the thread as JSON (the shape of ask --json)")


def add_batch(sub: Any) -> None:
    batch = sub.add_parser(
        "batch",
        help="run SPRI over a dataset (JSONL, CSV, Parquet, HF name) into a JSONL",
        description="Run SPRI over every row of a dataset; resumable, kill-safe, sharded across machines.",
    )
    batch.set_defaults(handler=handler("spri.cli.batch", "cmd_batch"))
    batch.add_argument("input", help="JSONL, CSV or Parquet file, or a Hugging Face dataset name (needs `datasets`)")
    batch.add_argument("-o", "--output", required=True, help="output JSONL (appended; re-runs skip finished ids)")
    data = batch.add_argument_group("input mapping")
    data.add_argument(
        "--field", action="append", default=[], metavar="FIELD=COLUMN", help="input column for a field; repeatable"
    )
    data.add_argument("--id-field", help="column holding item ids (default: a stable hash of the inputs)")
    data.add_argument("--split", default="train", help="dataset split for Hugging Face names (default train)")
    data.add_argument("--limit", type=int, help="only the first N items (of this shard)")
    data.add_argument("--shard", metavar="I/N", help="take shard I of N (a deterministic hash partition of ids)")
    data.add_argument("--retry-failed", action="store_true", help="run only the ids in OUT.errors.jsonl")
    data.add_argument("--format", choices=["full", "messages", "alpaca"], default="full", help="output records")
    scale = batch.add_argument_group("throughput")
    scale.add_argument("--concurrency", type=int, default=8, help="items in flight at once (default 8)")
    scale.add_argument(
        "--base-url",
        action="append",
        default=[],
        metavar="URL",
        help="OpenAI-compatible endpoint for openai:NAME models; repeat to spread requests over several",
    )
    scale.add_argument("--max-in-flight", type=int, help="most requests in flight per endpoint (default: no cap)")
    options = [o for o in run_options() if o.field != "review_principles"]
    add_run_options(batch.add_argument_group("run options"), options)
    batch.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def add_serve(sub: Any) -> None:
    serve = sub.add_parser("serve", help="serve SPRI over HTTP (LangServe at /spri, /health)")
    serve.set_defaults(handler=handler("spri.cli.serve", "cmd_serve"))
    serve.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000)
    _db(serve)
