"""`spri serve`: the command-line face of :mod:`spri.server`."""

from __future__ import annotations

import argparse

from spri.server import serve


def cmd_serve(args: argparse.Namespace) -> int:
    serve(args.host, args.port, args.db)
    return 0
