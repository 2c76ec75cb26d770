"""`spri batch`: the command-line face of :mod:`spri.batch`."""

from __future__ import annotations

import argparse
import asyncio
import json

from spri.batch import parse_shard, run_batch
from spri.options import context_overrides, pairs, run_options


def cmd_batch(args: argparse.Namespace) -> int:
    options = context_overrides(args, run_options())
    summary = asyncio.run(
        run_batch(
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
            **options,
        )
    )
    print(json.dumps(summary, indent=2))
    return 0 if not summary["failed"] else 1
