"""The grammar of `spri threads` (kept apart from the command, so `spri --help` loads nothing heavy)."""

from __future__ import annotations

import argparse
from typing import Any

from spri.cli.handlers import command

DURATION = "DURATION"
DURATION_HELP = "a number and a unit: s, m, h, d or w (e.g. 90m, 12h, 30d)"


def add_threads(sub: Any) -> None:
    threads = sub.add_parser(
        "threads",
        help="delete threads from a checkpoint database, one or all those idle for a while",
        description="Threads of the CLI's checkpoint database (default), another one (--db), or the one `spri "
        "serve` uses (--server). A thread that a run is using is never touched: delete refuses it, prune "
        "skips it.",
    )
    actions = threads.add_subparsers(dest="action", required=True, metavar="ACTION")
    prune = command(
        actions,
        "prune",
        "spri.cli.threads:cmd_prune",
        help="delete every thread whose last step is older than DURATION",
        description="Delete every thread whose last step is older than DURATION (paused and stopped threads "
        "too); running threads are left alone.",
    )
    prune.add_argument("--older-than", required=True, metavar=DURATION, help=DURATION_HELP)
    _database(prune)
    delete = command(
        actions, "delete", "spri.cli.threads:cmd_delete", help="delete one thread", description="Delete one thread."
    )
    delete.add_argument("thread", help="thread id")
    _database(delete)


def _database(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--db", help="checkpoint database: SQLite path or postgresql:// URL (default $SPRI_DB)")
    where.add_argument(
        "--server",
        action="store_true",
        help="the database of `spri serve` ($SPRI_SERVE_DB, or serve.sqlite in the user's data directory)",
    )
