"""One chat model spread over several OpenAI-compatible endpoints (e.g. vLLM replicas)."""

from __future__ import annotations

import asyncio
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatResult
from pydantic import PrivateAttr

from spri.models.errors import ModelError
from spri.models.redaction import redact_url
from spri.models.resolve import chat_openai


class EndpointPool(BaseChatModel):
    """One chat model spread over several OpenAI-compatible endpoints (e.g. vLLM replicas).

    Each call goes to the endpoint with the fewest requests in flight (ties in turn), and no endpoint
    gets more than ``max_in_flight`` at once. Tools and structured output pass through. Retries of
    429 (honouring Retry-After) and 5xx stay with each endpoint's client.
    """

    members: list[BaseChatModel]
    max_in_flight: int | None = None
    _in_flight: list[int] = PrivateAttr(default_factory=list)
    _limits: list[asyncio.Semaphore] | None = PrivateAttr(default=None)
    _turn: int = PrivateAttr(default=0)

    @property
    def _llm_type(self) -> str:
        return "spri-endpoint-pool"

    def __repr__(self) -> str:
        """Names the model and its endpoints, without credentials (a trace shows a pool by its repr)."""
        urls = [redact_url(str(getattr(member, "openai_api_base", "") or "")) for member in self.members]
        return f"EndpointPool(model={self.model_name!r}, endpoints={urls!r}, max_in_flight={self.max_in_flight})"

    @property
    def model_name(self) -> str:
        return str(getattr(self.members[0], "model_name", "pool"))

    def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
        bound = self.members[0].bind_tools(tools, **kwargs)
        return self.bind(**bound.kwargs)  # type: ignore[attr-defined]

    def _pick(self) -> int:
        if not self._in_flight:
            self._in_flight = [0] * len(self.members)
        self._turn = (self._turn + 1) % len(self.members)
        order = [(self._turn + i) % len(self.members) for i in range(len(self.members))]
        return min(order, key=lambda i: self._in_flight[i])

    async def _agenerate(
        self, messages: list[BaseMessage], stop: list[str] | None = None, run_manager: Any = None, **kwargs: Any
    ) -> ChatResult:
        if self._limits is None:
            limit = self.max_in_flight or 1 << 30
            self._limits = [asyncio.Semaphore(limit) for _ in self.members]
        index = self._pick()
        self._in_flight[index] += 1
        try:
            async with self._limits[index]:
                member = self.members[index]
                return await member._agenerate(messages, stop=stop, run_manager=run_manager, **kwargs)
        finally:
            self._in_flight[index] -= 1

    def _generate(
        self, messages: list[BaseMessage], stop: list[str] | None = None, run_manager: Any = None, **kwargs: Any
    ) -> ChatResult:
        index = self._pick()
        return self.members[index]._generate(messages, stop=stop, run_manager=run_manager, **kwargs)


def endpoint_pool(
    spec: str, base_urls: list[str], *, max_in_flight: int | None = None, max_tokens: int = 512
) -> EndpointPool:
    """An :class:`EndpointPool` of ``openai:NAME`` clients, one per base URL."""
    kind, _, name = spec.partition(":")
    if kind != "openai" or not name:
        raise ModelError(f"several endpoints need an openai:NAME model, got {spec!r}")
    if max_in_flight is not None and max_in_flight < 1:
        raise ModelError(f"--max-in-flight must be at least 1 (got {max_in_flight})")
    members = [chat_openai(name, base_url=url, max_tokens=max_tokens) for url in base_urls]
    return EndpointPool(members=members, max_in_flight=max_in_flight)
