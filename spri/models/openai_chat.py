"""The chat model of ``openai:NAME`` specs: langchain-openai's ``ChatOpenAI``, which builds the chat
result of a plain request (spri.models.openai_http) where the reply arrives, on the event loop.

``ChatOpenAI`` hands every reply to a worker thread to turn it into a chat result (a few dozen
microseconds of work): the hand-off there and back, and the two threads taking turns on the GIL, cost
more CPU than the work itself (benchmarks/bench_cpu.py). For requests that
:class:`~spri.models.openai_http.PlainCompletions` sends as they are, :class:`PlainChatOpenAI` has
``spri.compat.chat_completion_on_loop`` do what ``ChatOpenAI._agenerate`` does, without the thread.
Every other request (structured output by ``response_format``, the Responses API, what the SDK must
send itself), and every request where langchain-openai is not the version that was checked, is
``ChatOpenAI``'s own.
"""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatResult
from langchain_openai import ChatOpenAI

from spri.compat import chat_completion_on_loop
from spri.models.openai_http import PlainCompletions
from spri.models.redaction import redact_url


class PlainChatOpenAI(ChatOpenAI):
    """``ChatOpenAI`` whose plain requests are answered without a worker thread (see the module)."""

    @classmethod
    def lc_id(cls) -> list[str]:
        """Serialized as the ``ChatOpenAI`` it is: the model-call cache's keys (and traces) are
        ``ChatOpenAI``'s, so a cache filled before still answers."""
        return ChatOpenAI.lc_id()

    def to_json(self) -> Any:
        """Serialized as ``ChatOpenAI`` serializes, but with a base URL's credentials masked: this form is
        what LangSmith traces show and what the model-call cache keys (a URL without credentials, the
        usual case, is kept exactly, so existing caches still answer)."""
        data = super().to_json()
        kwargs = data.get("kwargs") if isinstance(data, dict) else None
        if isinstance(kwargs, dict) and isinstance(kwargs.get("openai_api_base"), str):
            kwargs["openai_api_base"] = redact_url(kwargs["openai_api_base"])
        return data

    def get_name(self, suffix: str | None = None, *, name: str | None = None) -> str:
        """Named as the ``ChatOpenAI`` it is (in its serialized form and traces), unless given a name."""
        return super().get_name(suffix, name=name or self.name or ChatOpenAI.__name__)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        client = self.async_client
        if isinstance(client, PlainCompletions):
            result = await chat_completion_on_loop(self, messages, stop, kwargs, client)
            if result is not None:
                return result
        return await super()._agenerate(messages, stop=stop, run_manager=run_manager, **kwargs)
