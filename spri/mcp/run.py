"""Running the MCP server: over stdio (the default: a desktop client or agent framework starts it), or
over streamable HTTP at ``/mcp``, where every request needs ``Authorization: Bearer <key>`` when
SPRI_API_KEY or SPRI_API_KEYS is set (the same keys and rule as `spri serve`)."""

from __future__ import annotations

import argparse
from typing import Any

from spri.api import SpriError


def http_app(server: Any) -> Any:
    """The streamable-HTTP ASGI app of ``server``, behind the bearer keys of the environment."""
    from spri.server.middleware import BearerAuth
    from spri.server.settings import ServerSettings

    app = server.streamable_http_app()
    keys = ServerSettings.from_env().bearer_keys
    return BearerAuth(app, keys) if keys else app


def cmd_mcp(args: argparse.Namespace) -> int:
    try:
        from spri.mcp.server import build_server
    except ModuleNotFoundError as exc:
        if (exc.name or "").partition(".")[0] != "mcp":
            raise
        raise SpriError("spri mcp needs the MCP SDK: pip install 'spri[mcp]'") from exc
    server = build_server(args.host, args.port)
    if args.transport == "stdio":
        server.run("stdio")
        return 0
    import uvicorn

    uvicorn.run(http_app(server), host=args.host, port=args.port, log_level="warning")
    return 0
