"""`spri show THREAD`: a run's stage history, or (--json) the thread in the shape of `ask --json`."""

from __future__ import annotations

import argparse
import asyncio
import json

from spri.api import STAGES, SpriError, default_db, load_thread


def cmd_show(args: argparse.Namespace) -> int:
    db = args.db or default_db()
    thread = asyncio.run(load_thread(args.thread, db))
    if thread is None:
        raise SpriError(f"no run with thread id '{args.thread}' in {db}")
    result = thread.result
    if args.json:
        print(json.dumps(result.model_dump(mode="json"), indent=2, ensure_ascii=False))
        return 0
    where = f"stopped before {', '.join(result.next_steps)}" if result.next_steps else "finished"
    print(f"thread {args.thread}: {where}")
    print(f"query: {thread.input.query}")
    for stage in STAGES:
        drafts = result.drafts.get(stage, [])
        critiques = result.critiques.get(stage, [])
        for i, draft in enumerate(drafts):
            print(f"\n== {stage}, draft {i + 1} ==\n{draft}")
            if i < len(critiques):
                score = "unreadable" if critiques[i].score is None else f"{critiques[i].score}/5"
                print(f"-- critique: {score} --\n{critiques[i].feedback}")
        if stage in result.stop_reason:
            print(f"({stage}: {result.stop_reason[stage]})")
    if result.next_steps:
        print(f"\nresume with: spri resume {args.thread}")
    return 0
