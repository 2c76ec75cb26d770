"""The `spri` command line: ask, resume, show.

Progress goes to stderr, the answer (or with --json the whole result) to stdout. Problems the user
can fix print one line, `spri: error: ...`, and exit with code 2; finished steps stay in the
checkpoint database and `spri resume THREAD` continues from them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

EXIT_USAGE = 2


class CliError(Exception):
    """A bad command-line argument (reported like any other user-fixable error)."""


def _text_arg(value: str | None, name: str) -> str | None:
    """TEXT, @FILE (read the file) or - (read stdin)."""
    if value is None:
        return None
    if value == "-":
        return sys.stdin.read()
    if value.startswith("@"):
        path = Path(value[1:]).expanduser()
        try:
            return path.read_text(encoding="utf-8")
        except FileNotFoundError as exc:
            raise CliError(f"{name}: file not found: {path}") from exc
        except (OSError, UnicodeDecodeError) as exc:
            raise CliError(f"{name}: cannot read {path}: {exc}") from exc
    return value


def _add_model_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("models")
    group.add_argument("--model", help="base model: local, local:PATH.gguf, openai:NAME, provider:NAME ($SPRI_MODEL)")
    group.add_argument("--critic", help="critic model, same forms (default: $SPRI_CRITIC_MODEL or the base model)")


def _add_db_options(parser: argparse._ActionsContainer) -> None:
    parser.add_argument("--db", help="checkpoint database: SQLite path or postgresql:// URL ($SPRI_DB)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="spri", description="SPRI: situated principles, then a response that follows them."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ask = sub.add_parser("ask", help="run SPRI on one input", description="Run SPRI on one input.")
    ask.add_argument("query", help="the input text, @FILE, or - for stdin")
    inputs = ask.add_argument_group("input fields")
    inputs.add_argument("--goal", help="response goal (reappraisal profile); TEXT or @FILE")
    inputs.add_argument("--reference", help="reference answer (rubric profile); TEXT or @FILE")
    inputs.add_argument("--response", dest="response_to_judge", help="answer to judge (rubric profile); TEXT or @FILE")
    inputs.add_argument("--principles", help="principles to use (fixed-principles method); TEXT or @FILE")
    inputs.add_argument("--category", help="input category, for --seed-policy category")
    inputs.add_argument(
        "--field",
        action="append",
        default=[],
        metavar="NAME=TEXT",
        help="another input field a profile names (e.g. system_prompt=@FILE); repeatable",
    )
    loop = ask.add_argument_group("loop")
    loop.add_argument("--profile", help="general, reappraisal, rubric, or a .toml/.yaml profile file")
    loop.add_argument(
        "--method",
        help="spri (default), fixed-principles, self-refine, vanilla; for the rubric profile also "
        "seed-rubric, mt-bench-rubric, flask-rubric",
    )
    loop.add_argument("--min-score", type=int, help="accept a draft scoring at least this (1-5, default 4)")
    loop.add_argument("--max-rounds", type=int, help="most critiques per stage (default 4)")
    loop.add_argument("--max-tokens", type=int, help="most tokens per model reply (default 512)")
    loop.add_argument("--seeds", help="seed examples (JSONL) for drafting principles; default: the profile's own")
    loop.add_argument(
        "--seed-field",
        action="append",
        default=[],
        metavar="FIELD=COLUMN",
        help="seed-file column for a seed field (query, goal, reference, principles, category); repeatable",
    )
    loop.add_argument("--no-seeds", action="store_true", help="zero-seed: no examples")
    loop.add_argument("--seed-policy", choices=["all", "category", "none"], help="which seeds to show")
    _add_model_options(ask)
    run = ask.add_argument_group("run")
    run.add_argument("--thread", help="thread id for the checkpoint (default: a new one)")
    _add_db_options(run)
    run.add_argument("--review", action="store_true", help="pause after stage 1 to approve or edit the principles")
    run.add_argument("--json", action="store_true", help="print the whole result as JSON")
    run.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")

    resume = sub.add_parser("resume", help="continue an interrupted run", description="Continue an interrupted run.")
    resume.add_argument("thread", help="thread id printed when the run started")
    resume.add_argument("--approve", action="store_true", help="approve the principles of a paused review")
    resume.add_argument("--edit", metavar="TEXT|@FILE", help="replace the principles of a paused review")
    _add_model_options(resume)
    _add_db_options(resume)
    resume.add_argument("--json", action="store_true", help="print the whole result as JSON")
    resume.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")

    show = sub.add_parser("show", help="print a run's stage history", description="Print a run's stage history.")
    show.add_argument("thread", help="thread id")
    _add_db_options(show)
    show.add_argument("--json", action="store_true", help="print the saved state as JSON")
    batch = sub.add_parser(
        "batch",
        help="run SPRI over a dataset (JSONL, CSV, Parquet, HF name) into a JSONL",
        description="Run SPRI over every row of a dataset; resumable, kill-safe, sharded across machines.",
    )
    batch.add_argument("input", help="JSONL, CSV or Parquet file, or a Hugging Face dataset name (needs `datasets`)")
    batch.add_argument("-o", "--output", required=True, help="output JSONL (appended; re-runs skip finished ids)")
    batch.add_argument("--profile", help="general, reappraisal, rubric, or a profile file")
    batch.add_argument("--method", help="spri (default), fixed-principles, self-refine, vanilla, ...")
    batch.add_argument(
        "--field", action="append", default=[], metavar="FIELD=COLUMN", help="input column for a field; repeatable"
    )
    batch.add_argument("--id-field", help="column holding item ids (default: a stable hash of the inputs)")
    batch.add_argument("--split", default="train", help="dataset split for Hugging Face names (default train)")
    batch.add_argument("--format", choices=["full", "messages", "alpaca"], default="full", help="output records")
    batch.add_argument("--concurrency", type=int, default=8, help="items in flight at once (default 8)")
    batch.add_argument("--limit", type=int, help="only the first N items (of this shard)")
    batch.add_argument("--shard", metavar="I/N", help="take shard I of N (a deterministic hash partition of ids)")
    batch.add_argument("--retry-failed", action="store_true", help="run only the ids in OUT.errors.jsonl")
    batch.add_argument(
        "--base-url",
        action="append",
        default=[],
        metavar="URL",
        help="OpenAI-compatible endpoint for openai:NAME models; repeat to spread requests over several",
    )
    batch.add_argument("--max-in-flight", type=int, help="most requests in flight per endpoint (default: no cap)")
    batch.add_argument("--min-score", type=int)
    batch.add_argument("--max-rounds", type=int)
    batch.add_argument("--max-tokens", type=int)
    batch.add_argument("--seeds")
    batch.add_argument("--seed-policy", choices=["all", "category", "none"])
    batch.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    _add_model_options(batch)

    serve = sub.add_parser("serve", help="serve SPRI over HTTP (LangServe at /spri, /health)")
    serve.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000)
    _add_db_options(serve)

    from spri.eval.cli import add_parser as add_eval_parser

    add_eval_parser(sub, _add_model_options)
    return parser


def _progress(update: Any) -> str:
    if update.node == "begin":
        return ""
    if update.node.startswith("judge_"):
        score = "no readable score" if update.score is None else f"score {update.score}/5"
        return f"[{update.stage}] round {update.round}: {score}"
    if update.node.startswith(("draft_", "refine_")):
        verb = "drafted" if update.node.startswith("draft_") else "refined"
        return f"[{update.stage}] {verb} (round {update.round})"
    if update.node == "review_principles":
        return "[principles] reviewed by you"
    if update.node == "finalize" and update.stop_reason:
        return "done: " + ", ".join(f"{stage} {reason}" for stage, reason in update.stop_reason.items())
    return f"[{update.node}]"


async def _stream(query: Any, args: argparse.Namespace, thread_id: str, **options: Any) -> Any:
    from spri.api import Result, astream
    from spri.storage import default_db

    result: Result | None = None
    async for item in astream(query, thread_id=thread_id, checkpointer=args.db or default_db(), **options):
        if isinstance(item, Result):
            result = item
        else:
            if item.node == "begin" and not args.quiet:
                print(f"thread {thread_id}", file=sys.stderr, flush=True)
            args.started = args.started or item.node != "begin"
            if args.quiet:
                continue
            line = _progress(item)
            if line:
                print(line, file=sys.stderr, flush=True)
    return result


def _print_result(result: Any, as_json: bool) -> None:
    if as_json:
        print(json.dumps(result.model_dump(mode="json"), indent=2, ensure_ascii=False))
    else:
        print(result.response or "")


def _context_options(args: argparse.Namespace) -> dict[str, Any]:
    policy = "none" if getattr(args, "no_seeds", False) else getattr(args, "seed_policy", None)
    return {
        "model": args.model,
        "critic_model": args.critic,
        "min_score": getattr(args, "min_score", None),
        "max_rounds": getattr(args, "max_rounds", None),
        "max_tokens": getattr(args, "max_tokens", None),
        "profile": getattr(args, "profile", None),
        "method": getattr(args, "method", None),
        "seeds": getattr(args, "seeds", None),
        "seed_policy": policy,
        "seed_fields": _pairs(getattr(args, "seed_field", None) or [], "--seed-field") or None,
    }


def _pairs(items: list[str], option: str) -> dict[str, str]:
    pairs = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise CliError(f"{option} expects NAME=VALUE, got {item!r}")
        pairs[key.strip()] = value.strip()
    return pairs


def cmd_ask(args: argparse.Namespace) -> int:
    query = _text_arg(args.query, "query")
    fields = {
        "goal": _text_arg(args.goal, "--goal"),
        "reference": _text_arg(args.reference, "--reference"),
        "response_to_judge": _text_arg(args.response_to_judge, "--response"),
        "principles": _text_arg(args.principles, "--principles"),
        "category": args.category,
        "extra": {name: _text_arg(text, f"--field {name}") for name, text in _pairs(args.field, "--field").items()}
        or None,
    }
    if args.seeds and not Path(args.seeds).expanduser().is_file():
        raise CliError(f"--seeds: file not found: {args.seeds}")
    thread_id = args.thread or uuid.uuid4().hex[:12]
    args.thread_id = thread_id
    options = _context_options(args)
    if args.review:
        options["review_principles"] = True
    result = asyncio.run(_stream(query, args, thread_id, **fields, **options))
    return _finish(result, args, context=None)


def cmd_resume(args: argparse.Namespace) -> int:
    args.thread_id = args.thread
    options = {k: v for k, v in _context_options(args).items() if v is not None}
    context = None
    if options:  # overrides on top of the saved settings
        context = asyncio.run(_saved_context(args))
        context.update(options)
    decision = _decision_from_args(args)
    result = asyncio.run(_stream(None, args, args.thread, context=context, resume=decision))
    return _finish(result, args, context=context)


def _decision_from_args(args: argparse.Namespace) -> Any:
    if getattr(args, "approve", False):
        return "approve"
    edited = _text_arg(getattr(args, "edit", None), "--edit")
    return {"action": "edit", "principles": edited} if edited else None


def _finish(result: Any, args: argparse.Namespace, context: Any) -> int:
    """Print the result; if the run paused for a review, ask the human (or say how to resume)."""
    while result is not None and result.status == "interrupted":
        decision = _ask_review(result)
        if decision is None:
            print(
                f"spri: the run is paused for review: spri resume {result.thread_id} --approve (or --edit TEXT|@FILE)",
                file=sys.stderr,
            )
            return 0
        result = asyncio.run(_stream(None, args, result.thread_id, context=context, resume=decision))
    _print_result(result, args.json)
    return 0


def _ask_review(result: Any) -> Any:
    """Show the principles and read the decision from stdin: Enter/y approves, e edits (new principles
    follow, ended by a line '.' or end of input), q leaves the run paused."""
    payload = result.interrupt or {}
    print("\n--- principles for review ---", file=sys.stderr)
    print(payload.get("principles") or result.principles or "", file=sys.stderr)
    if payload.get("score") is not None:
        print(f"(critic: {payload['score']}/5 - {payload.get('feedback', '')})", file=sys.stderr)
    print("approve [Y], edit [e], or quit and keep it paused [q]? ", end="", file=sys.stderr, flush=True)
    answer = sys.stdin.readline()
    if not answer or answer.strip().lower() in ("q", "quit"):
        return None
    if answer.strip().lower() in ("e", "edit"):
        print("new principles, ended by a line with a single '.':", file=sys.stderr, flush=True)
        lines = []
        for line in sys.stdin:
            if line.rstrip("\n") == ".":
                break
            lines.append(line)
        text = "".join(lines).strip()
        return {"action": "edit", "principles": text} if text else "approve"
    return "approve"


async def _saved_context(args: argparse.Namespace) -> dict[str, Any]:
    from spri.api import saved_context
    from spri.graph import build_graph
    from spri.storage import default_db, open_checkpointer

    async with open_checkpointer(args.db or default_db()) as saver:
        snapshot = await build_graph(saver).aget_state({"configurable": {"thread_id": args.thread}})
    if not snapshot.values:
        raise CliError(f"no run with thread id '{args.thread}' in {args.db or default_db()}")
    return saved_context(snapshot.metadata)


def cmd_show(args: argparse.Namespace) -> int:
    from spri.graph import build_graph
    from spri.state import STAGES, Critique
    from spri.storage import default_db, open_checkpointer

    async def load() -> Any:
        async with open_checkpointer(args.db or default_db()) as saver:
            return await build_graph(saver).aget_state({"configurable": {"thread_id": args.thread}})

    snapshot = asyncio.run(load())
    if not snapshot.values:
        raise CliError(f"no run with thread id '{args.thread}' in {args.db or default_db()}")
    values = snapshot.values
    if args.json:
        print(json.dumps({"values": values, "next": list(snapshot.next)}, indent=2, ensure_ascii=False, default=str))
        return 0
    print(f"thread {args.thread}: " + (f"stopped before {', '.join(snapshot.next)}" if snapshot.next else "finished"))
    print(f"query: {values.get('query', '')}")
    for stage in STAGES:
        drafts = (values.get("drafts") or {}).get(stage, [])
        critiques = [Critique.model_validate(c) for c in (values.get("critiques") or {}).get(stage, [])]
        for i, draft in enumerate(drafts):
            print(f"\n== {stage}, draft {i + 1} ==\n{draft}")
            if i < len(critiques):
                c = critiques[i]
                score = "unreadable" if c.score is None else f"{c.score}/5"
                print(f"-- critique: {score} --\n{c.feedback}")
        if stage in (values.get("stop_reason") or {}):
            print(f"({stage}: {values['stop_reason'][stage]})")
    if snapshot.next:
        print(f"\nresume with: spri resume {args.thread}")
    return 0


def cmd_batch(args: argparse.Namespace) -> int:
    from spri.batch import parse_shard, run_batch
    from spri.models import endpoint_pool

    options = {k: v for k, v in _context_options(args).items() if v is not None}
    for role, key in (("model", "model"), ("critic", "critic_model")):
        spec = getattr(args, role)
        if args.base_url and spec and spec.startswith("openai:"):
            options[key] = endpoint_pool(spec, args.base_url, max_in_flight=args.max_in_flight)
        elif args.base_url and role == "model":
            raise CliError("--base-url needs an openai:NAME model (--model openai:NAME)")
    summary = asyncio.run(
        run_batch(
            args.input,
            args.output,
            fields=_pairs(args.field, "--field"),
            id_field=args.id_field,
            fmt=args.format,
            concurrency=args.concurrency,
            limit=args.limit,
            shard=parse_shard(args.shard),
            retry_failed=args.retry_failed,
            split=args.split,
            progress=not args.quiet,
            **options,
        )
    )
    print(json.dumps(summary, indent=2))
    return 0 if not summary["failed"] else 1


def cmd_serve(args: argparse.Namespace) -> int:
    from spri.server import serve

    serve(args.host, args.port, args.db)
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from spri.eval import cli as eval_cli

    return eval_cli.run(args)


COMMANDS = {
    "ask": cmd_ask,
    "resume": cmd_resume,
    "show": cmd_show,
    "batch": cmd_batch,
    "serve": cmd_serve,
    "eval": cmd_eval,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.started = False
    try:
        return COMMANDS[args.command](args)
    except KeyboardInterrupt:
        _hint(args, "interrupted")
        return 130
    except Exception as exc:
        from spri.errors import explain

        message, user_fixable = (str(exc), True) if isinstance(exc, CliError) else explain(exc)
        print(f"spri: error: {message}", file=sys.stderr)
        _hint(args, None)
        if os.environ.get("SPRI_DEBUG"):
            raise
        return EXIT_USAGE if user_fixable else 1


def _hint(args: argparse.Namespace, what: str | None) -> None:
    thread = getattr(args, "thread_id", None)
    if thread and getattr(args, "started", False):
        prefix = f"{what}; " if what else ""
        print(f"spri: {prefix}finished steps are saved: spri resume {thread}", file=sys.stderr)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
