"""The grammar of `spri export` (kept apart from the command, so `spri --help` loads nothing heavy)."""

from __future__ import annotations

from typing import Any

from spri.cli.handlers import command


def add_format_option(parser: Any, command: str, default: str) -> None:
    """--format with the output formats `spri batch` or `spri export` writes (spri.batch.formats)."""
    from spri.batch.formats import FORMATS, formats_for

    names = formats_for(command)
    described = "; ".join(f"{name}: {FORMATS[name].help}" for name in names)
    parser.add_argument("--format", choices=names, default=default, help=f"{described} (default {default})")


def add_export(sub: Any) -> None:
    export = command(
        sub,
        "export",
        "spri.cli.export:cmd_export",
        help="turn a batch's full output into SFT (messages, alpaca) or preference (dpo) data",
        description="Read a `spri batch --format full` output (a JSONL file or a part folder) and write "
        "training data: TRL chat records, Alpaca rows, or DPO pairs (final response chosen over the first "
        "draft, only where the critic scored it higher).",
    )
    export.add_argument("batch_output", metavar="OUT", help="the batch output: a JSONL file or a part folder")
    export.add_argument("-o", "--output", metavar="FILE", help="write the rows to this JSONL file")
    add_format_option(export, "export", "messages")
    export.add_argument("--min-score", type=int, metavar="N", help="only items whose final score is at least N")
    export.add_argument(
        "--stop-reason", metavar="REASON", help="only items whose response stage stopped so, e.g. accepted"
    )
    export.add_argument("--to-hf", metavar="DIR", help="also save a Hugging Face dataset (with a dataset card) there")
    export.add_argument(
        "--push-to-hub", metavar="REPO", help="also push the dataset and its card to this Hub repository"
    )
