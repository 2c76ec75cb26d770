"""The output formats of `spri batch --format` and `spri export --format`, defined once.

A format turns one finished item's *full record* (what ``--format full`` writes: ``id``, ``input``,
``principles``, ``response``, ``drafts``, ``critiques``, ``stop_reason``, ...) into the row it writes, or
None when the item makes no row of this format. `spri batch` writes ``{"id", **row}`` as each item
finishes; `spri export` reads a full output and writes the row plus the columns it filters on. Both
commands offer the formats registered here (their ``--format`` choices come from :data:`FORMATS`), and
a re-run recognises an output made before settings files by each format's ``keys``.

A new format is one :func:`register` call here (or in a plug-in module imported before the command runs).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the names `spri --help` reads from here need no model or graph
    from spri.api import Result

STAGE = "response"
"""The stage whose drafts and critiques the rows read (the answer, not the principles)."""

Row = dict[str, Any]


@dataclass(frozen=True)
class OutputFormat:
    name: str
    help: str
    row: Callable[[Mapping[str, Any]], Row | None]
    keys: tuple[str, ...]
    """Keys every row of this format has: how an output made before settings files is recognised."""
    batch: bool = True
    """`spri batch` may write it (a format that leaves items out would make a re-run repeat them)."""
    export: bool = True
    """`spri export` may write it (``full`` is what export reads, not a format it converts to)."""
    left_out: str = "no_row_in_this_format"
    """The summary's reason for a record that makes no row."""


FORMATS: dict[str, OutputFormat] = {}


def register(fmt: OutputFormat) -> OutputFormat:
    FORMATS[fmt.name] = fmt
    return fmt


def _refused(message: str) -> Exception:
    from spri.api import SpriError  # here, not at the top: the format names load without the API

    return SpriError(message)


def formats_for(command: str) -> list[str]:
    """The names `spri batch` (command "batch") or `spri export` ("export") offers, in registration order."""
    return [name for name, fmt in FORMATS.items() if getattr(fmt, command)]


def format_named(name: str, command: str) -> OutputFormat:
    fmt = FORMATS.get(name)
    if fmt is None or not getattr(fmt, command):
        raise _refused(f"--format {name}: spri {command} writes {', '.join(formats_for(command))}")
    return fmt


def full_record(item_id: str, inputs: Mapping[str, Any], result: Result) -> Row:
    """What ``--format full`` writes for one item: its id, its inputs and the whole result."""
    full = result.model_dump(mode="json", exclude={"thread_id"})
    return {"id": item_id, "input": {k: v for k, v in inputs.items() if v not in (None, {}, "")}, **full}


def output_record(item_id: str, inputs: Mapping[str, Any], result: Result, fmt: str) -> Row:
    """The line `spri batch --format fmt` writes for a finished item."""
    row = format_named(fmt, "batch").row(full_record(item_id, inputs, result))
    if row is None:
        raise _refused(f"--format {fmt} made no row for item {item_id}")
    return {"id": item_id, **row}


def prompt_of(record: Mapping[str, Any]) -> str:
    return str((record.get("input") or {}).get("query") or "")


def score_of(record: Mapping[str, Any], index: int) -> int | None:
    """The critic's score of the response stage's draft at ``index`` (-1: the final draft)."""
    drafts = record.get("drafts", {}).get(STAGE) or []
    critiques = record.get("critiques", {}).get(STAGE) or []
    position = len(drafts) - 1 if index == -1 else index
    if not drafts or not 0 <= position < len(critiques):
        return None
    score = critiques[position].get("score")
    return score if isinstance(score, int) else None


def _conversation(prompt: str, response: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": prompt}, {"role": "assistant", "content": response}]


def _full(record: Mapping[str, Any]) -> Row:
    return {k: v for k, v in record.items() if k != "id"}


def _messages(record: Mapping[str, Any]) -> Row:
    return {"messages": _conversation(prompt_of(record), record.get("response") or "")}


def _alpaca(record: Mapping[str, Any]) -> Row:
    goal = (record.get("input") or {}).get("goal") or ""
    return {"instruction": prompt_of(record), "input": str(goal), "output": record.get("response") or ""}


def _dpo(record: Mapping[str, Any]) -> Row | None:
    drafts = record.get("drafts", {}).get(STAGE) or []
    first, final = score_of(record, 0), score_of(record, -1)
    if len(drafts) < 2 or first is None or final is None or final <= first:
        return None
    prompt, response = _conversation(prompt_of(record), record.get("response") or "")
    return {
        "prompt": [prompt],
        "chosen": [response],
        "rejected": [{"role": "assistant", "content": drafts[0]}],
        "chosen_score": final,
        "rejected_score": first,
    }


register(
    OutputFormat(
        "full", "principles, every draft and critique, and the stats", _full, ("response", "stop_reason"), export=False
    )
)
register(OutputFormat("messages", "TRL chat records: a user and an assistant message", _messages, ("messages",)))
register(OutputFormat("alpaca", "instruction / input / output rows", _alpaca, ("instruction", "output")))
register(
    OutputFormat(
        "dpo",
        "TRL preference pairs: the final response chosen over the first draft, where the critic scored it higher",
        _dpo,
        ("prompt", "chosen", "rejected"),
        batch=False,
        left_out="dpo_final_not_better_than_first_draft",
    )
)
