"""The one module that uses dependencies' private names. Each use has a public path it falls back to,
taken when a name is missing or the installed version is not one the use was checked against:

- langgraph: the checkpointer a graph hands its nodes in their config, so SPRI run as a subgraph of a
  synchronous parent can use a synchronous-only checkpointer. Fallback: the config as it is (LangGraph
  then hands SPRI the parent's checkpointer, which works where it has async methods).
- langchain-openai: ``ChatOpenAI``'s error translation and gateway metadata, so a chat-completions
  result is built on the event loop rather than on a worker thread. Fallback: ``ChatOpenAI``'s own
  ``_agenerate``.
- httpcore (the openai SDK's HTTP stack): the network backend of an httpx transport's connection pool.
  Fallback: the client as the SDK makes it.
- ray: its cached authentication settings, refreshed when spri changes them after Ray was imported.
  Fallback: nothing refreshed (settings made before Ray's import still apply). And ``ray start``'s
  hidden ``--no-monitor`` (no autoscaler for a private single-machine head, one Python process fewer to
  start). Fallback: the head starts its autoscaler monitor, as without the flag.

``tests/unit/test_compat.py`` forces each fallback.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from typing import Any

VERIFIED = {
    "langgraph": ((1, 2), (1, 3)),
    "langchain-openai": ((1, 7), (1, 8)),
    "ray": ((2, 60), (2, 61)),
}
"""The versions (from, below) each use was checked against; another version takes the public path."""


def _release(distribution: str) -> tuple[int, ...] | None:
    try:
        text = version(distribution)
    except PackageNotFoundError:
        return None
    parts = []
    for part in text.split(".")[:2]:
        digits = "".join(ch for ch in part if ch.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)


@cache
def private(distribution: str, module: str, *names: str) -> tuple[Any, ...] | None:
    """``names`` from ``module`` of ``distribution``, or None when one is missing or the installed
    version is not a verified one (:data:`VERIFIED`)."""
    low, below = VERIFIED[distribution]
    release = _release(distribution)
    if release is None or not low <= release < below:
        return None
    try:
        found = importlib.import_module(module)
        return tuple(getattr(found, name) for name in names)
    except (ImportError, AttributeError):
        return None


# langgraph: the checkpointer in a node's config -------------------------------------------------


def _checkpointer_key() -> str | None:
    found = private("langgraph", "langgraph._internal._constants", "CONFIG_KEY_CHECKPOINTER")
    return found[0] if found else None


def config_checkpointer(config: Mapping[str, Any] | None) -> Any:
    """The checkpointer LangGraph put in a node's ``config`` (None if there is none, or it cannot be
    found)."""
    key = _checkpointer_key()
    return ((config or {}).get("configurable") or {}).get(key) if key else None


def with_config_checkpointer(config: Mapping[str, Any] | None, saver: Any) -> Any:
    """``config`` whose checkpointer is ``saver`` (``config`` as it is where the key cannot be found)."""
    key = _checkpointer_key()
    if key is None:
        return config
    configurable = (config or {}).get("configurable") or {}
    return {**(config or {}), "configurable": {**configurable, key: saver}}


# langchain-openai: a chat-completions result built on the event loop ----------------------------


async def chat_completion_on_loop(
    model: Any, messages: list[Any], stop: list[str] | None, kwargs: dict[str, Any], plain: Any
) -> Any:
    """What ``ChatOpenAI._agenerate`` returns for a plain chat-completions request (same payload, error
    translation, response headers, gateway metadata and chat result), built on the event loop; the
    request goes through ``plain`` (``sends_as_is(payload)``, ``send(payload)`` giving a reply with
    ``parse()``, ``headers`` and ``http_response``). None where ``ChatOpenAI`` must answer itself: a
    request ``plain`` does not take, structured output, the Responses API, or langchain-openai not
    as verified."""
    import openai

    helpers = private(
        "langchain-openai",
        "langchain_openai.chat_models.base",
        "_handle_openai_bad_request",
        "_handle_openai_api_error",
        "_add_gateway_metadata",
    )
    if helpers is None:
        return None
    bad_request, api_error, gateway_metadata = helpers
    payload = model._get_request_payload(messages, stop=stop, **kwargs)
    if "response_format" in payload or model._use_responses_api(payload) or not plain.sends_as_is(payload):
        return None
    reply = None
    try:
        reply = await plain.send(payload)
        response = reply.parse()
    except openai.BadRequestError as exc:
        bad_request(exc)
        raise  # not reached: the handler raises langchain-openai's own error
    except openai.APIError as exc:
        api_error(exc)
        raise
    except Exception as exc:
        if reply is not None:
            exc.response = reply.http_response  # type: ignore[attr-defined]
        raise
    generation_info: dict[str, Any] = {"headers": dict(reply.headers)} if model.include_response_headers else {}
    gateway_metadata(generation_info, reply)
    return model._create_chat_result(response, generation_info)


# httpcore: the network backend of an httpx client's pool -----------------------------------------


def replace_network_backend(transport: Any, pool_type: type, replace: Callable[[Any], Any]) -> bool:
    """Put ``replace(backend)`` in place of the network backend of an httpx ``transport``'s connection
    pool, a ``pool_type``; False, leaving the transport as it was, if that pool is not where this httpx
    version keeps it."""
    pool: Any = getattr(transport, "_pool", None)
    backend = getattr(pool, "_network_backend", None)
    if not isinstance(pool, pool_type) or backend is None:
        return False
    setattr(pool, "_network_backend", replace(backend))  # noqa: B010 (a private attribute, set here only)
    return True


def client_transport(client: Any) -> Any:
    """The transport of an httpx ``client``'s direct (not proxied) requests (None where there is none)."""
    return getattr(client, "_transport", None)


def network_backend(transport: Any) -> Any:
    """The network backend of an httpx ``transport``'s connection pool (None where there is none)."""
    return getattr(getattr(transport, "_pool", None), "_network_backend", None)


# ray: cached authentication settings --------------------------------------------------------------


def refresh_ray_auth() -> bool:
    """Make an already imported Ray read its authentication settings again; False where it cannot."""
    found = private("ray", "ray._raylet", "Config", "AuthenticationTokenLoader")
    if found is None:
        return False
    config, loader = found
    try:
        config.initialize("")
        loader.instance().reset_cache()
    except Exception:
        return False
    return True


# ray: a private head without the autoscaler monitor ----------------------------------------------


def ray_start_without_autoscaler() -> list[str]:
    """The ``ray start`` flag that leaves out the autoscaler monitor (hidden, so only where the installed
    Ray is a verified version); [] otherwise."""
    low, below = VERIFIED["ray"]
    release = _release("ray")
    return ["--no-monitor"] if release is not None and low <= release < below else []
