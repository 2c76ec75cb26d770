"""`spri ask` and `spri resume`: one run, its progress on stderr, the answer on stdout, and the human
review of the principles at the terminal when a run pauses for it."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spri.api import (
    Context,
    Result,
    SpriError,
    Token,
    Update,
    astream,
    default_db,
    load_thread,
    open_checkpointer,
    profile_fields,
)
from spri.cli import EXIT_PAUSED
from spri.cli.args import text_arg
from spri.cli.conversation import read_conversation
from spri.cli.parsers import RESUME_OPTIONS
from spri.options import context_overrides, pairs, run_options


def progress_line(update: Update) -> str:
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


@dataclass
class Session:
    """One command's runs on one thread, sharing one open checkpoint database."""

    thread_id: str
    db: str
    quiet: bool
    live: bool = False
    """--stream: print each response draft to stdout as it is written."""
    events: bool = False
    """--stream --json: stdout is JSON Lines, each token and finished step an event, the result last."""
    started: bool = False
    """Whether a step finished (then an interrupted run is worth resuming)."""
    written: str = ""
    """The response draft being printed (--stream)."""
    shown: str = ""
    """The last response draft printed whole (--stream)."""
    revised: bool = False
    """Whether the next response draft is a revision of one already printed."""

    def emit(self, event: str, **fields: Any) -> None:
        """One JSON Lines event on stdout (--stream --json)."""
        print(json.dumps({"event": event, **fields}, ensure_ascii=False), flush=True)

    def write(self, token: Token) -> None:
        if self.events:
            self.emit("token", **token.model_dump())
            return
        if token.stage != "response":
            return
        if self.revised:
            print("--- revised ---", flush=True)
            self.revised = False
        print(token.text, end="", flush=True)
        self.written += token.text

    async def stream(self, saver: Any, query: Any, **options: Any) -> Result:
        result: Result | None = None
        stream = astream(query, thread_id=self.thread_id, checkpointer=saver, tokens=self.live, **options)
        async for item in stream:
            if isinstance(item, Result):
                result = item
                continue
            if isinstance(item, Token):
                self.write(item)
                continue
            if self.events:
                self.emit("update", **item.model_dump())
            if item.node == "judge_response" and self.written:
                print(flush=True)  # the draft is whole; any next one is a revision
                self.shown, self.written, self.revised = self.written, "", True
            if item.node == "begin" and not self.quiet:
                print(f"thread {self.thread_id}", file=sys.stderr, flush=True)
            self.started = self.started or item.node != "begin"
            line = "" if self.quiet else progress_line(item)
            if line:
                print(line, file=sys.stderr, flush=True)
        assert result is not None
        return result

    async def run(
        self, query: Any, interactive: bool, overrides: dict[str, Any] | None = None, **options: Any
    ) -> Result:
        """Run (or continue) the thread; answer reviews at the terminal if ``interactive``. The result
        has status "interrupted" when the run was left paused for review. ``overrides`` change some of a
        continued thread's settings."""
        async with open_checkpointer(self.db) as saver:
            if overrides:
                thread = await load_thread(self.thread_id, saver)
                if thread is None:
                    raise SpriError(f"no run with thread id '{self.thread_id}' in {self.db}")
                options["context"] = {**(thread.settings or {}), **overrides}
            result = await self.stream(saver, query, **options)
            while result.status == "interrupted":
                decision = await asyncio.to_thread(ask_review, result) if interactive else None
                if decision is None:
                    print(
                        f"spri: the run is paused for review: spri resume {self.thread_id} --approve "
                        "(or --edit TEXT|@FILE, or --reject NOTE|@FILE)",
                        file=sys.stderr,
                    )
                    return result
                options = {k: v for k, v in options.items() if k == "context"}
                result = await self.stream(saver, None, resume=decision, **options)
        return result

    def execute(self, query: Any, interactive: bool, as_json: bool, **options: Any) -> int:
        try:
            result = asyncio.run(self.run(query, interactive, **options))
        except BaseException as exc:
            if self.started:
                exc.add_note(f"finished steps are saved: spri resume {self.thread_id}")
            raise
        paused = result.status == "interrupted"
        if self.events:
            self.emit("result", result=result.model_dump(mode="json"))
        elif as_json:
            print_result(result, as_json)
        elif not paused:  # (paused: the principles to review are on stderr, with how to continue)
            self.print_answer(result)
        return EXIT_PAUSED if paused else 0

    def print_answer(self, result: Result) -> None:
        """The response on stdout, unless --stream has printed it already as it was written."""
        if self.live and (self.written or self.shown).strip() == (result.response or "").strip():
            if self.written:
                print()
        else:
            print_result(result, False)


def print_result(result: Result, as_json: bool) -> None:
    if as_json:
        print(json.dumps(result.model_dump(mode="json"), indent=2, ensure_ascii=False))
    else:
        print(result.response or "")


def use_cache(path: str | None) -> None:
    """--cache PATH: every model this process builds from a spec reads and fills that cache."""
    if path:
        os.environ["SPRI_CACHE"] = path


def _query(args: argparse.Namespace) -> str | dict[str, Any]:
    """QUERY, or with --conversation the conversation (and the query, if given too)."""
    if args.conversation is None:
        if args.query is None:
            raise SpriError("give the QUERY to answer (or --conversation FILE.jsonl)")
        return text_arg(args.query, "query") or ""
    if args.conversation == "-" and args.query == "-":
        raise SpriError("standard input can hold the query or the conversation, not both")
    return {"query": text_arg(args.query, "query"), "messages": read_conversation(args.conversation)}


def cmd_ask(args: argparse.Namespace) -> int:
    use_cache(args.cache)
    query = _query(args)
    extra = {name: text_arg(text, f"--field {name}") for name, text in pairs(args.field, "--field").items()}
    fields = {
        "goal": text_arg(args.goal, "--goal"),
        "reference": text_arg(args.reference, "--reference"),
        "response_to_judge": text_arg(args.response_to_judge, "--response"),
        "principles": text_arg(args.principles, "--principles"),
        "category": args.category,
        "extra": extra or None,
    }
    options = context_overrides(args, run_options())
    if args.seeds and not Path(args.seeds).expanduser().is_file():
        raise SpriError(f"--seeds: file not found: {args.seeds}")
    profile = options.get("profile") or Context().profile
    given = {**{k: v for k, v in fields.items() if k != "extra"}, **extra}
    check_taken(profile, given)
    check_required(profile, given)
    thread = args.thread or uuid.uuid4().hex[:12]
    session = Session(thread, args.db or default_db(), args.quiet, args.stream, events=args.stream and args.json)
    return session.execute(query, True, args.json, **fields, **options)


def cmd_resume(args: argparse.Namespace) -> int:
    use_cache(args.cache)
    overrides = context_overrides(args, run_options(RESUME_OPTIONS))
    decision: Any = None
    if args.approve:
        decision = {"decisions": [{"type": "approve"}]}
    elif args.edit is not None:
        decision = {"decisions": [{"type": "edit", "edited_action": edited(text_arg(args.edit, "--edit") or "")}]}
    elif args.reject is not None:
        decision = {"decisions": [{"type": "reject", "message": text_arg(args.reject, "--reject")}]}
    events = args.stream and args.json
    session = Session(args.thread, args.db or default_db(), args.quiet, args.stream, events=events)
    return session.execute(None, True, args.json, overrides=overrides, resume=decision)


APPROVE = ("", "y", "yes", "a", "approve")
EDIT = ("e", "edit")
REJECT = ("r", "reject")
QUIT = ("q", "quit")


FLAGS = {"goal": "--goal", "reference": "--reference", "response_to_judge": "--response", "principles": "--principles"}


def _flag(name: str) -> str:
    named = {"query": "QUERY", "category": "--category", "messages": "--conversation"}
    return named.get(name) or FLAGS.get(name) or f"--field {name}"


def check_taken(profile: str, given: dict[str, Any]) -> None:
    """Name the command-line flags for input fields the profile does not take (a typo in --field, or
    --response without a profile that judges a response), before anything runs."""
    takes = profile_fields(profile, every=True)
    unknown = [name for name, value in given.items() if value is not None and name not in takes]
    if unknown:
        raise SpriError(
            f"profile '{profile}' does not take {', '.join(_flag(n) for n in unknown)} "
            f"(it takes: {', '.join(_flag(n) for n in takes)})"
        )


def check_required(profile: str, given: dict[str, Any]) -> None:
    """Name the command-line flags for the input fields the profile needs and the command lacks."""
    missing = [name for name in profile_fields(profile, required=True) if name != "query" and not given.get(name)]
    if missing:
        flags = [FLAGS.get(name, f"--field {name}=TEXT") for name in missing]
        raise SpriError(f"profile '{profile}' needs {', '.join(flags)}")


def ask_review(result: Result) -> Any:
    """Show the principles and read an explicit decision from stdin: Enter, y or approve approves; e
    edits (new principles follow, ended by a line '.' or end of input); r rejects (a line saying what
    to change follows; the principles are refined with it and shown again); q (or end of input) leaves
    the run paused. Anything else is asked again."""
    payload = result.interrupt or {}
    print("\n--- principles for review ---", file=sys.stderr)
    print(payload.get("principles") or result.principles or "", file=sys.stderr)
    if payload.get("score") is not None:
        print(f"(critic: {payload['score']}/5 - {payload.get('feedback', '')})", file=sys.stderr)
    while True:
        print(
            "approve [Y], edit [e] (new principles, then a line '.'), reject with a note [r], "
            "or quit and keep it paused [q]? ",
            end="",
            file=sys.stderr,
            flush=True,
        )
        line = sys.stdin.readline()
        answer = line.strip().lower()
        if not line or answer in QUIT:
            return None
        if answer in APPROVE:
            return {"decisions": [{"type": "approve"}]}
        if answer in REJECT:
            print("what should change? ", end="", file=sys.stderr, flush=True)
            note = sys.stdin.readline().strip()
            return {"decisions": [{"type": "reject", **({"message": note} if note else {})}]}
        if answer in EDIT:
            text = read_principles()
            if text:
                return {"decisions": [{"type": "edit", "edited_action": edited(text)}]}
            print("no principles given; the review is still open.", file=sys.stderr)
            continue
        print(
            f"not understood: {line.strip()!r}. Type y to approve, e to edit, r to reject or q to quit.",
            file=sys.stderr,
        )


def read_principles() -> str:
    print("new principles, ended by a line with a single '.':", file=sys.stderr, flush=True)
    lines = []
    for line in sys.stdin:
        if line.rstrip("\n") == ".":
            break
        lines.append(line)
    return "".join(lines).strip()


def edited(principles: str) -> dict[str, Any]:
    return {"name": "review_principles", "args": {"principles": principles}}
