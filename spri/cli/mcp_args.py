"""The grammar of `spri mcp` (kept apart from the command, so `spri --help` loads nothing heavy)."""

from __future__ import annotations

from typing import Any

from spri.cli.handlers import command

TRANSPORTS = ("stdio", "streamable-http")


def add_mcp(sub: Any) -> None:
    mcp = command(
        sub,
        "mcp",
        "spri.mcp.run:cmd_mcp",
        help="serve SPRI as MCP tools (answer, judge, principles) over stdio or streamable HTTP",
        description="Models come from the environment ($SPRI_MODEL, $SPRI_CRITIC_MODEL), as for `spri serve`. "
        "Over streamable HTTP (at /mcp) every request needs 'Authorization: Bearer KEY' when SPRI_API_KEY "
        "(one shared key) or SPRI_API_KEYS ('NAME:KEY ...') is set; every key needs at least 16 characters.",
    )
    mcp.add_argument(
        "--transport", choices=TRANSPORTS, default="stdio", help="stdio (default; the client starts spri) or HTTP"
    )
    mcp.add_argument("--host", default="127.0.0.1", help="streamable HTTP: interface to bind (default 127.0.0.1)")
    mcp.add_argument("--port", type=int, default=8000, help="streamable HTTP: TCP port (default 8000)")
