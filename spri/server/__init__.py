"""`spri serve`: SPRI over HTTP. LangServe endpoints at /spri (invoke, batch, stream, stream_events,
schemas, playground), OpenAI-compatible ones at /v1 (chat/completions, models), a thread's state at
/spri/threads/{id}, /health, /ready and /metrics.

Security model (SECURITY.md has the whole of it): the server's models, endpoints and keys come only
from its own environment; a client may set only the run options in ``client_options.CLIENT_OPTIONS``
(anything else is refused with HTTP 400 before any model call). With ``SPRI_API_KEY`` (one shared key)
or ``SPRI_API_KEYS`` (named keys, each with its own threads) every route but the probes needs
``Authorization: Bearer <key>``.

Modules: ``app`` (wiring), ``service`` (the Runnable LangServe drives), ``openai_compat`` and
``openai_shapes`` (the OpenAI-compatible routes at /v1 and their protocol), ``client_options``, ``threads``
(per-key namespaces, continuing a stopped run), ``errors`` (failures -> HTTP), ``middleware``, ``health``,
``metrics``, ``logs``, ``schemas`` (as the playground renders them), ``protocol`` (connection guards),
``settings``, ``run`` (uvicorn, workers, shutdown).
"""
