"""The grammar of `spri serve` (kept apart from the command, so `spri --help` loads nothing heavy)."""

from __future__ import annotations

from typing import Any

from spri.cli.handlers import handler


def add_serve(sub: Any) -> None:
    serve = sub.add_parser("serve", help="serve SPRI over HTTP (LangServe at /spri, /health)")
    serve.set_defaults(handler=handler("spri.cli.serve", "cmd_serve"))
    serve.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--db", help="checkpoint database: SQLite path or postgresql:// URL ($SPRI_DB)")
