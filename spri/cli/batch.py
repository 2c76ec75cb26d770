"""`spri batch`: the command-line face of :mod:`spri.batch`.

The summary JSON goes to stdout at the end, also when the batch is stopped by Ctrl-C or SIGTERM, or
stops itself because many items failed in a row (then with what finished so far, and a line on stderr
saying why and how to continue)."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from collections.abc import Awaitable
from typing import Any

from spri.batch import BatchAborted, Stats, parse_shard, run_batch
from spri.cli import event_loop
from spri.options import context_overrides, pairs, run_options

EXIT_INTERRUPTED = {signal.SIGINT: 130, signal.SIGTERM: 143}
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Stopped(Exception):
    """The batch was stopped by a signal."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


async def stoppable(work: Awaitable[dict[str, Any]]) -> dict[str, Any]:
    """Run ``work``; SIGINT (Ctrl-C) and SIGTERM cancel it (finished items are kept either way). The
    loop's own handlers do it, the same way on asyncio's loop and on uvloop's."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    got: list[int] = []

    def stop(signum: int) -> None:
        got.append(signum)
        task.cancel()

    for signum in STOP_SIGNALS:
        loop.add_signal_handler(signum, stop, signum)
    try:
        return await work
    except asyncio.CancelledError:
        if got:
            raise Stopped(got[0]) from None
        raise
    finally:
        for signum in STOP_SIGNALS:
            loop.remove_signal_handler(signum)


def cmd_batch(args: argparse.Namespace) -> int:
    options = context_overrides(args, run_options())
    stats = Stats()
    work = run_batch(
        args.input,
        args.output,
        fields=pairs(args.field, "--field"),
        id_field=args.id_field,
        fmt=args.format,
        concurrency=args.concurrency,
        limit=args.limit,
        shard=parse_shard(args.shard),
        retry_failed=args.retry_failed,
        split=args.split,
        progress=not args.quiet,
        base_urls=args.base_url,
        max_in_flight=args.max_in_flight,
        stats=stats,
        engine=args.engine,
        workers=args.workers,
        ray_address=args.ray_address,
        **options,
    )
    try:
        summary = event_loop.run(stoppable(work))
    except (KeyboardInterrupt, Stopped) as exc:
        signum = exc.signum if isinstance(exc, Stopped) else signal.SIGINT
        return interrupted(stats, args.output, signum)
    except BatchAborted:
        print(json.dumps(stats.summary(), indent=2))
        raise  # one line on stderr, exit code 2
    print(json.dumps(summary, indent=2))
    return 0 if not summary["failed"] else 1


def interrupted(stats: Stats, output: str, signum: int) -> int:
    """The summary of what finished, and how to go on."""
    print(json.dumps(stats.summary(), indent=2))
    name = signal.Signals(signum).name
    print(
        f"spri: interrupted ({name}); finished items are saved in {output}: run the same command again "
        "to continue where it stopped",
        file=sys.stderr,
    )
    return EXIT_INTERRUPTED.get(signal.Signals(signum), 130)
