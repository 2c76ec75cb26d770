"""The HTTP side of ``openai:NAME`` models, without the SDK's per-call typing work.

langchain-openai builds each chat-completions request as plain JSON (dicts, lists, strings, numbers)
and reads the reply back into a dict. In between, the openai SDK walks the request against its typed
parameter declarations (a transform that matters only for SDK types such as files or pydantic
objects, which these requests never hold) and builds a typed ``ChatCompletion`` that langchain-openai
dumps straight back to a dict: about a third of the CPU a model call cost the whole framework (benchmarks/RESULTS.md).

:class:`PlainCompletions` stands in for ``ChatOpenAI.async_client``: a non-streaming request whose
every parameter is one the SDK knows, with plain JSON values, is posted as it is through the SDK
client's public ``post`` (same URL, headers, key, timeout, retries with ``Retry-After``, and errors),
and its reply is parsed straight to the dict langchain-openai wants. Anything else (streaming, SDK
types, options such as ``extra_body``) goes to the SDK's own ``chat.completions`` unchanged.
"""

from __future__ import annotations

import inspect
import json
from functools import cache
from typing import Any

try:  # the openai SDK's HTTP client (httpx2 from openai 3, httpx before)
    from httpx2 import Response as HTTPResponse
except ImportError:  # pragma: no cover - older openai
    from httpx import Response as HTTPResponse  # type: ignore[assignment]

PATH = "/chat/completions"
PLAIN_SCALARS = (str, int, float, bool, type(None))


def is_plain_json(value: Any) -> bool:
    """True for values made only of dicts (string keys), lists, tuples and JSON scalars."""
    if isinstance(value, PLAIN_SCALARS):
        return True
    if isinstance(value, dict):
        return all(isinstance(key, str) and is_plain_json(item) for key, item in value.items())
    if isinstance(value, list | tuple):
        return all(is_plain_json(item) for item in value)
    return False


@cache
def _sdk_parameters(create: Any) -> frozenset[str]:
    """The request parameters of the SDK's ``create`` (request options such as ``extra_body`` and
    ``timeout`` are not among them: a call using one goes through the SDK)."""
    names = set(inspect.signature(create).parameters)
    return frozenset(names - {"self", "extra_headers", "extra_query", "extra_body", "timeout"})


class RawReply:
    """What langchain-openai reads from ``with_raw_response.create``: ``parse()``, ``headers`` and the
    HTTP response."""

    def __init__(self, response: HTTPResponse) -> None:
        self.http_response = response
        self.headers = response.headers

    def parse(self) -> Any:
        """The reply as JSON (a dict); a body that is not JSON is a ``json.JSONDecodeError``."""
        return json.loads(self.http_response.content)


class RawCreate:
    """``chat.completions.with_raw_response`` with the plain path for plain requests."""

    def __init__(self, owner: PlainCompletions) -> None:
        self._owner = owner

    async def create(self, **params: Any) -> Any:
        if not self._owner.sends_as_is(params):
            return await self._owner.sdk.with_raw_response.create(**params)
        return await self._owner.send(params)


class PlainCompletions:
    """``chat.completions`` of an ``openai.AsyncOpenAI`` client for langchain-openai: plain requests
    are sent as they are (see the module); every other attribute is the SDK's."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.sdk = client.chat.completions

    def sends_as_is(self, params: dict[str, Any]) -> bool:
        known = _sdk_parameters(type(self.sdk).create)
        return not params.get("stream") and known.issuperset(params) and is_plain_json(params)

    async def send(self, params: dict[str, Any]) -> RawReply:
        """Post a request that :meth:`sends_as_is` as it is."""
        return RawReply(await self.client.post(PATH, cast_to=HTTPResponse, body=params))

    @property
    def with_raw_response(self) -> RawCreate:
        return RawCreate(self)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.sdk, name)
