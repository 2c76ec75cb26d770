"""The command line's grammar: one function per sub-command. Run options come from spri.options."""

from __future__ import annotations

import argparse
from typing import Any

from spri import __version__
from spri.cli import EXIT_CODES
from spri.cli.batch_args import add_batch
from spri.cli.handlers import command
from spri.cli.mcp_args import add_mcp
from spri.cli.serve_args import add_serve
from spri.cli.threads_args import add_threads
from spri.options import add_run_options, run_options

RESUME_OPTIONS = ("model", "critic_model")
"""What `resume` may override: the models (e.g. the endpoint moved); the rest is the thread's own."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="spri", description="SPRI: situated principles, then a response that follows them.", epilog=EXIT_CODES
    )
    parser.add_argument("--version", action="version", version=f"spri {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_ask(sub)
    add_resume(sub)
    add_show(sub)
    add_batch(sub)
    add_serve(sub)
    add_mcp(sub)
    add_threads(sub)
    from spri.eval.cli import add_parser as add_eval

    add_eval(sub)
    return parser


def _db(parser: argparse._ActionsContainer) -> None:
    parser.add_argument("--db", help="checkpoint database: SQLite path or postgresql:// URL ($SPRI_DB)")


def _cache(parser: argparse._ActionsContainer) -> None:
    parser.add_argument(
        "--cache",
        metavar="PATH",
        help="reuse identical model calls from this SQLite file, and store new ones ($SPRI_CACHE)",
    )


REVIEW_HELP = (
    "With --review the run pauses after stage 1 and shows the principles on stderr; answer with Enter or y "
    "(approve), e (edit: type the new principles, then a line holding only '.'), r (reject: a note on what "
    "to change; the principles are refined once and shown again) or q (leave it paused: exit code 3; "
    "continue with spri resume THREAD --approve, --edit TEXT|@FILE or --reject NOTE|@FILE)."
)


def _output(parser: argparse._ActionsContainer) -> None:
    parser.add_argument(
        "--json",
        action="store_true",
        help='print the whole result as JSON; a run left paused for review prints it too (status "interrupted", '
        'the review in "interrupt") and exits with code 3',
    )
    parser.add_argument(
        "--stream",
        action="store_true",
        help="print each response draft to stdout as it is written (a revision follows a '--- revised ---' line); "
        'with --json, stdout is JSON Lines: {"event": "token", "node", "stage", "text"} as drafts are written, '
        '{"event": "update", "node", "stage", "round", "score", "text", "stop_reason"} per finished step, and '
        '{"event": "result", "result": {...}} last',
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")


def _running(sub: Any, name: str, summary: str, runs: str) -> argparse.ArgumentParser:
    """A sub-command that runs SPRI and may pause for a review (ask, resume): its help ends with how to
    answer one and the exit codes."""
    description = summary[:1].upper() + summary[1:] + "."
    return command(sub, name, runs, help=summary, description=description, epilog=f"{REVIEW_HELP} {EXIT_CODES}")


def _storage_and_output(group: argparse._ActionsContainer) -> None:
    """Where the run's checkpoints and cached calls go, and how its result is printed."""
    _db(group)
    _cache(group)
    _output(group)


def add_ask(sub: Any) -> None:
    ask = _running(sub, "ask", "run SPRI on one input", "spri.cli.ask:cmd_ask")
    ask.add_argument(
        "query", nargs="?", help="the input text, @FILE, or - for stdin (with --conversation: may be left out)"
    )
    inputs = ask.add_argument_group("input fields (TEXT or @FILE)")
    inputs.add_argument("--goal", help="response goal (reappraisal profile)")
    inputs.add_argument("--reference", help="reference answer (rubric profile)")
    inputs.add_argument("--response", dest="response_to_judge", help="the answer to judge (rubric profile)")
    inputs.add_argument("--principles", help="principles to use (fixed-principles method)")
    inputs.add_argument("--category", help="input category, for --seed-policy category and *-rubric methods")
    inputs.add_argument(
        "--conversation",
        metavar="FILE.jsonl",
        help='the conversation the query ends, one message a line as {"role": ..., "content": ...} '
        "(- for stdin); without QUERY its last user message is the query",
    )
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
    _storage_and_output(run)


def add_resume(sub: Any) -> None:
    resume = _running(sub, "resume", "continue an interrupted run", "spri.cli.ask:cmd_resume")
    resume.add_argument("thread", help="thread id printed when the run started")
    review = resume.add_argument_group("answering a paused review")
    review.add_argument("--approve", action="store_true", help="approve the principles")
    review.add_argument("--edit", metavar="TEXT|@FILE", help="replace the principles with these")
    review.add_argument(
        "--reject", metavar="TEXT|@FILE", help="send them back: refined once with this note, then reviewed again"
    )
    add_run_options(resume.add_argument_group("overrides of the saved settings"), run_options(RESUME_OPTIONS))
    _storage_and_output(resume)


def add_show(sub: Any) -> None:
    summary = "print a run's stage history"
    show = command(sub, "show", "spri.cli.show:cmd_show", help=summary, description="Print a run's stage history.")
    show.add_argument("thread", help="thread id")
    _db(show)
    show.add_argument("--json", action="store_true", help="print the thread as JSON (the shape of ask --json)")
