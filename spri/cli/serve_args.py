"""The grammar of `spri serve` (kept apart from the command, so `spri --help` loads nothing heavy)."""

from __future__ import annotations

from typing import Any

from spri.cli.handlers import command


def add_serve(sub: Any) -> None:
    serve = command(
        sub,
        "serve",
        "spri.cli.serve:cmd_serve",
        help="serve SPRI over HTTP (LangServe at /spri, /health, /ready, /metrics)",
        description="Keys come from the environment only: SPRI_API_KEY (one shared key) or SPRI_API_KEYS "
        "('NAME:KEY ...', each name sees only its own threads); every key needs at least 16 characters, "
        "without spaces or commas.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="TCP port to listen on (default 8000)")
    _storage(serve)
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="worker processes sharing the checkpoint database (PostgreSQL recommended; default 1)",
    )
    serve.add_argument(
        "--graceful-timeout",
        type=float,
        default=30.0,
        metavar="S",
        help="after SIGTERM, seconds in-flight requests get to finish (default 30); runs cut then are resumable",
    )
    serve.add_argument(
        "--log-format", choices=("text", "json"), help="log lines as text or JSON ($SPRI_LOG_FORMAT; default text)"
    )
    serve.add_argument(
        "--read-timeout",
        type=float,
        default=10.0,
        metavar="S",
        help="a request (headers and body) must arrive within S seconds, or its connection is closed (default 10)",
    )
    serve.add_argument(
        "--max-connections",
        type=int,
        default=512,
        metavar="N",
        help="open connections at most; idle ones are closed first to make room (default 512)",
    )
    serve.add_argument(
        "--max-header-bytes",
        type=int,
        default=32 * 1024,
        metavar="B",
        help="largest request head (request line and headers); larger ones get 431 (default 32768)",
    )


def _storage(serve: Any) -> None:
    """Where the server keeps its threads, and for how long."""
    serve.add_argument(
        "--db",
        help="checkpoint database: SQLite path or postgresql:// URL ($SPRI_SERVE_DB; default serve.sqlite in "
        "the user's data directory, not the CLI's database)",
    )
    serve.add_argument(
        "--thread-ttl",
        metavar="DURATION",
        help="delete threads idle for longer than DURATION, e.g. 30d or 12h; running ones never "
        "($SPRI_THREAD_TTL; default: keep them)",
    )
