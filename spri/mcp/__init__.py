"""`spri mcp`: SPRI as a Model Context Protocol server. Tools ``answer``, ``judge`` and ``principles``
(``tools``: what each runs and returns; ``server``: the SDK's server, their schemas and descriptions;
``run``: stdio or streamable HTTP behind the bearer keys of `spri serve`)."""
