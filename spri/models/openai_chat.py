"""The chat model of ``openai:NAME`` specs: langchain-openai's ``ChatOpenAI``, which builds the chat
result of a plain request (spri.models.openai_http) where the reply arrives, on the event loop.

``ChatOpenAI`` hands every reply to a worker thread to turn it into a chat result (a few dozen
microseconds of work): the hand-off there and back, and the two threads taking turns on the GIL, cost
more CPU than the work itself (P9 in benchmarks/RESULTS.md). For requests that
:class:`~spri.models.openai_http.PlainCompletions` sends as they are, :class:`PlainChatOpenAI` does
what ``ChatOpenAI._agenerate`` does (same payload, same error translation, same response headers and
gateway metadata, same ``_create_chat_result``), without the thread. Every other request (structured
output by ``response_format``, the Responses API, what the SDK must send itself) is ``ChatOpenAI``'s.
"""

from __future__ import annotations

from typing import Any

import openai
from langchain_core.callbacks import AsyncCallbackManagerForLLMRun
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatResult
from langchain_openai import ChatOpenAI
from langchain_openai.chat_models.base import (
    _add_gateway_metadata,
    _handle_openai_api_error,
    _handle_openai_bad_request,
)

from spri.models.openai_http import PlainCompletions, RawReply
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
        payload = self._get_request_payload(messages, stop=stop, **kwargs)
        client = self.async_client
        if not self._sent_as_is(client, payload):
            return await super()._agenerate(messages, stop=stop, run_manager=run_manager, **kwargs)
        reply: RawReply | None = None
        try:
            reply = await client.send(payload)
            response = reply.parse()
        except openai.BadRequestError as exc:
            _handle_openai_bad_request(exc)
            raise  # not reached: the handler raises langchain-openai's own error
        except openai.APIError as exc:
            _handle_openai_api_error(exc)
            raise
        except Exception as exc:
            if reply is not None:
                exc.response = reply.http_response  # type: ignore[attr-defined]
            raise
        generation_info: dict[str, Any] = {"headers": dict(reply.headers)} if self.include_response_headers else {}
        _add_gateway_metadata(generation_info, reply)
        return self._create_chat_result(response, generation_info)

    def _sent_as_is(self, client: Any, payload: dict[str, Any]) -> bool:
        """True if ``ChatOpenAI`` would send ``payload`` by ``chat.completions.create`` and the plain
        path takes it."""
        if "response_format" in payload or self._use_responses_api(payload):
            return False
        return isinstance(client, PlainCompletions) and client.sends_as_is(payload)
