"""`spri threads prune` and `spri threads delete`: retention of a checkpoint database's threads."""

from __future__ import annotations

import argparse
import asyncio
import os

from spri.api import SpriError, default_db, delete_thread, parse_duration, prune_threads, redact_url


def database(args: argparse.Namespace) -> str:
    """The database the command works on: --db, the server's (--server), or the CLI's."""
    if args.server:
        from spri.server.settings import default_server_db

        return os.environ.get("SPRI_SERVE_DB") or default_server_db()
    return str(args.db or default_db())


def cmd_prune(args: argparse.Namespace) -> int:
    age = parse_duration(args.older_than, "--older-than")
    db = database(args)
    pruned = asyncio.run(prune_threads(age, db))
    line = f"deleted {len(pruned.deleted)} thread(s) idle for more than {args.older_than} from {redact_url(db)}"
    if pruned.busy:
        line += f"; left {len(pruned.busy)} that a run is using: {', '.join(pruned.busy)}"
    print(line)
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    db = database(args)
    if not asyncio.run(delete_thread(args.thread, db)):
        raise SpriError(f"no thread '{args.thread}' in {redact_url(db)}")
    print(f"deleted thread {args.thread} from {redact_url(db)}")
    return 0
