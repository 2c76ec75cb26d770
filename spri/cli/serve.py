"""`spri serve`: the command-line face of :mod:`spri.server`."""

from __future__ import annotations

import argparse
import os

from spri.server.run import RunOptions, serve


def cmd_serve(args: argparse.Namespace) -> int:
    # Options that every worker process needs travel in its environment (workers are fresh processes).
    if args.db:
        os.environ["SPRI_SERVE_DB"] = args.db
    if args.log_format:
        os.environ["SPRI_LOG_FORMAT"] = args.log_format
    if args.thread_ttl:
        os.environ["SPRI_THREAD_TTL"] = args.thread_ttl
    serve(
        RunOptions(
            host=args.host,
            port=args.port,
            workers=args.workers,
            graceful_timeout=args.graceful_timeout,
            read_timeout=args.read_timeout,
            max_connections=args.max_connections,
            max_head_bytes=args.max_header_bytes,
        )
    )
    return 0
