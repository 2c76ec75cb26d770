"""Every model call SPRI makes goes through here: resolving a spec to a chat model, drafting, judging.

Nodes call :func:`generate` (base model) and :func:`judge` (critic); both return what they spent so the
graph can account calls and tokens per stage. The critic's verdict is read, in order of preference, from
structured output (function calling), from the embedded model's grammar-constrained text plus its digit
probabilities, or from free text; one retry with a format reminder, then the critique is recorded as
unparseable and the stage stops refining.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import weakref
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from langchain_core import exceptions as lc_errors
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.outputs import ChatResult
from langgraph.types import RetryPolicy
from pydantic import BaseModel, Field, PrivateAttr, ValidationError

from spri.local import LocalChatModel, default_model_path
from spri.parsing import parse_critique
from spri.state import Critique, SpriError, Usage
from spri.state.context import ModelSpec

FORMAT_REMINDER = (
    "Your reply did not end with a score I could read. Answer again, in exactly this format:\n"
    "Feedback: <one short paragraph>\n"
    "Score: <one digit from 1 to 5>"
)

SCORE_MARKER = "\nScore: "


class ModelError(SpriError):
    """A model that cannot be configured or did not give a usable answer; the message says what to do."""


class CriticReply(BaseModel):
    """Your verdict on the draft."""

    feedback: str = Field(description="One short paragraph: what to fix or keep.")
    score: int = Field(ge=1, le=5, description="Score from 1 (poor) to 5 (excellent) on the given scale.")


@dataclass
class Reply:
    text: str
    usage: Usage


def resolve(spec: ModelSpec, max_tokens: int = 512) -> BaseChatModel:
    """A chat model for a spec: 'local', 'local:PATH', 'openai:NAME', 'provider:NAME', or an object."""
    if isinstance(spec, BaseChatModel):
        return spec
    if not isinstance(spec, str) or not spec.strip():
        raise ModelError(f"not a model spec: {spec!r} (try 'local' or 'openai:gpt-4o-mini')")
    key = (spec.strip(), max_tokens)
    try:
        loop: Any = asyncio.get_running_loop()
    except RuntimeError:
        loop = _NO_LOOP
    # HTTP clients hold connections bound to the event loop that opened them, so each loop gets its own
    # model objects (a second asyncio.run() must not reuse the first one's closed connections).
    models = _MODELS.setdefault(loop, {})
    if key not in models:
        models[key] = _resolve_name(*key)
    return models[key]


class _NoLoop:
    """Stands in for 'no running event loop' as a weakref-able cache key."""


_NO_LOOP = _NoLoop()
_MODELS: weakref.WeakKeyDictionary[Any, dict[tuple[str, int], BaseChatModel]] = weakref.WeakKeyDictionary()


def _resolve_name(spec: str, max_tokens: int) -> BaseChatModel:
    kind, _, name = spec.partition(":")
    if kind == "local":
        path = os.path.expanduser(name) if name else default_model_path()
        if not os.path.isfile(path):
            raise ModelError(f"model file not found: {path} (give 'local:/path/to/model.gguf')")
        return LocalChatModel(model_path=path, max_tokens=max_tokens)
    timeout = float(os.environ.get("SPRI_TIMEOUT", "120"))
    retries = int(os.environ.get("SPRI_MAX_RETRIES", "3"))
    if kind == "openai":
        if not name:
            raise ModelError("give the model name after 'openai:', e.g. openai:gpt-4o-mini")
        if not os.environ.get("OPENAI_API_KEY"):
            raise ModelError(f"model {spec} needs OPENAI_API_KEY (for a local server that ignores keys, set any value)")
        return _chat_openai(name, max_tokens=max_tokens, timeout=timeout, max_retries=retries)
    try:
        from langchain.chat_models import init_chat_model

        return init_chat_model(spec, max_tokens=max_tokens, timeout=timeout, max_retries=retries)
    except ImportError as exc:
        raise ModelError(f"model {spec!r}: {exc}") from exc
    except ValueError as exc:
        raise ModelError(f"cannot create model {spec!r}: {exc}. Use 'local', 'openai:NAME' or 'provider:NAME'") from exc


def _chat_openai(name: str, **options: Any) -> BaseChatModel:
    """A ChatOpenAI with an HTTP client of its own: langchain-openai otherwise shares one process-wide,
    whose pooled connections belong to the first event loop and break a second ``asyncio.run``."""
    import openai
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(model=name, http_async_client=openai.DefaultAsyncHttpxClient(), **options)


def is_transient(exc: BaseException) -> bool:
    """Faults worth another attempt at the node level, after the client's own retries: dropped or
    timed-out connections, rate limits, 5xx, and malformed response bodies. Never user errors."""
    if isinstance(exc, SpriError):
        return False
    if isinstance(exc, lc_errors.ModelConnectionError | lc_errors.ModelTimeoutError | lc_errors.ModelRateLimitError):
        return True
    if isinstance(exc, lc_errors.ModelAPIError):
        status = getattr(exc, "status_code", None)
        return status is None or status >= 500
    if isinstance(exc, json.JSONDecodeError | ConnectionError | TimeoutError):
        return True
    name, module = type(exc).__name__, type(exc).__module__
    return module.startswith(("httpx", "httpcore", "openai")) and (
        "Timeout" in name or "Connect" in name or "Protocol" in name or "ResponseValidation" in name
    )


MODEL_CALL_RETRY = RetryPolicy(
    max_attempts=3, initial_interval=0.5, backoff_factor=2.0, max_interval=8.0, jitter=True, retry_on=is_transient
)
"""The one retry policy of the model-calling nodes, on top of the HTTP client's retries (SPRI_MAX_RETRIES,
which honour Retry-After on 429). A run's worst case is bounded: 3 node attempts x (1 + client retries)
requests of at most SPRI_TIMEOUT seconds each, per model call."""


def usage_of(message: BaseMessage | None) -> Usage:
    meta = getattr(message, "usage_metadata", None) or {}
    return Usage(calls=1, input_tokens=meta.get("input_tokens", 0), output_tokens=meta.get("output_tokens", 0))


_THINK = re.compile(r"^\s*<think>.*?</think>\s*", re.DOTALL)


def text_of(message: BaseMessage) -> str:
    """The reply's text, without a leading <think>...</think> block of reasoning models."""
    return _THINK.sub("", message.text).strip()


async def generate(
    spec: ModelSpec, messages: list[BaseMessage], *, role: str, max_tokens: int, grammar: str = "", slot: str = ""
) -> Reply:
    """One base-model reply (held to ``grammar`` where the model supports grammars). ``slot`` names the
    embedded model's KV cache to reuse (calls sharing a prompt prefix should share a slot). An empty
    reply is retried once, then reported as an error."""
    model = resolve(spec, max_tokens)
    options: dict[str, Any] = {}
    if isinstance(model, LocalChatModel):
        options = {"grammar": grammar, "slot": slot or role} if grammar else {"slot": slot or role}
    usage = Usage(calls=0)
    for _ in range(2):
        message = await model.ainvoke(messages, config={"run_name": role, "tags": [f"spri:{role}"]}, **options)
        usage += usage_of(message)
        text = text_of(message)
        if text:
            return Reply(text=text, usage=usage)
    raise ModelError(f"the {role} model returned an empty reply twice")


async def judge(
    spec: ModelSpec,
    messages: list[BaseMessage],
    *,
    max_tokens: int,
    role: str = "critic",
    slot: str = "",
    untrusted: str = "",
) -> tuple[Critique, Usage]:
    """A verdict (feedback + score 1-5) on what ``messages`` show; score None if unreadable after one
    reminder. ``untrusted`` is the outside text the model was shown (the input, a draft): lines of a
    free-text verdict that merely repeat it are not read for a score. The critic judges drafts this
    way; in judgment profiles the base model writes its drafts so."""
    model = resolve(spec, max_tokens)
    critique, usage = await _critique_once(model, messages, max_tokens, role, slot or role, untrusted)
    if critique.score is None:
        retry = [*messages, AIMessage(content=critique.raw or "(no reply)"), HumanMessage(content=FORMAT_REMINDER)]
        critique, more = await _critique_once(model, retry, max_tokens, role, slot or role, untrusted)
        usage += more
    return critique, usage


_TEXT_ONLY: set[int] = set()
"""ids of models whose endpoint refused structured output once; they get text prompts from then on."""


def _supports_structured(model: BaseChatModel) -> bool:
    return type(model).bind_tools is not BaseChatModel.bind_tools and id(model) not in _TEXT_ONLY


def _refuses_tools(exc: Exception) -> bool:
    status = getattr(exc, "status_code", None) or getattr(getattr(exc, "response", None), "status_code", None)
    return isinstance(exc, NotImplementedError) or status in (400, 404, 422, 501)


async def _critique_once(
    model: BaseChatModel, messages: list[BaseMessage], max_tokens: int, role: str, slot: str, untrusted: str
) -> tuple[Critique, Usage]:
    config: Any = {"run_name": role, "tags": [f"spri:{role}"]}
    if isinstance(model, LocalChatModel):
        message = await model.ainvoke(
            messages, config, grammar=critic_grammar(max_tokens), digit_probs_after=SCORE_MARKER, slot=slot
        )
        # the grammar puts the critic's own score on the last line, so nothing needs filtering
        return _with_probabilities(parse_critique(text_of(message)), message), usage_of(message)
    if _supports_structured(model):
        try:
            raw = await _with_verdict_tool(model).ainvoke(messages, config)
        except Exception as exc:
            if not _refuses_tools(exc):
                raise
            _TEXT_ONLY.add(id(model))
        else:
            return _verdict_from_tool_call(raw, untrusted), usage_of(raw)
    message = await model.ainvoke(messages, config)
    return parse_critique(text_of(message), untrusted), usage_of(message)


_BOUND: dict[int, tuple[BaseChatModel, Any]] = {}


def _with_verdict_tool(model: BaseChatModel) -> Any:
    """The model with the CriticReply tool bound and required: structured output by function calling
    (which llama.cpp's server supports where json_schema fails). Bound once per model, since binding
    converts the schema, and parsed by us, which costs half of `with_structured_output`'s runnables."""
    cached = _BOUND.get(id(model))
    if cached is None or cached[0] is not model:
        cached = (model, model.bind_tools([CriticReply], tool_choice=CriticReply.__name__))
        _BOUND[id(model)] = cached
    return cached[1]


def _verdict_from_tool_call(message: BaseMessage, untrusted: str) -> Critique:
    """The verdict from the CriticReply tool call, or, failing that, from whatever the model wrote."""
    for call in getattr(message, "tool_calls", None) or []:
        if call.get("name") == CriticReply.__name__:
            try:
                reply = CriticReply.model_validate(call.get("args") or {})
            except ValidationError:
                break
            raw = reply.model_dump_json()
            return Critique(score=reply.score, feedback=reply.feedback.strip(), raw=raw, sampled_score=reply.score)
    args = " ".join(str(call.get("args", "")) for call in getattr(message, "tool_calls", None) or [])
    return parse_critique((text_of(message) + "\n" + args).strip(), untrusted)


def _with_probabilities(critique: Critique, message: BaseMessage) -> Critique:
    probs = message.response_metadata.get("digit_probs")
    if not probs or critique.score is None:
        return critique
    expected = sum(p * d for d, p in enumerate(probs, 1))
    return critique.model_copy(update={"expected_score": round(expected, 4), "score": int(expected + 0.5)})


@lru_cache(maxsize=16)
def critic_grammar(max_tokens: int) -> str:
    """GBNF for 'Feedback: <one line>\\nScore: <1-5>', the free text capped well below max_tokens."""
    cap = max(24, min(600, (max_tokens - 24) * 2))
    return f'root ::= "Feedback: " fb "\\nScore: " [1-5]\nfb ::= [^\\n]{{12,{cap}}}\n'


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
    if not os.environ.get("OPENAI_API_KEY"):
        raise ModelError(f"model {spec} needs OPENAI_API_KEY (for servers that ignore keys, set any value)")
    if max_in_flight is not None and max_in_flight < 1:
        raise ModelError(f"--max-in-flight must be at least 1 (got {max_in_flight})")
    timeout = float(os.environ.get("SPRI_TIMEOUT", "120"))
    retries = int(os.environ.get("SPRI_MAX_RETRIES", "3"))
    members: list[BaseChatModel] = [
        _chat_openai(name, base_url=url, max_tokens=max_tokens, timeout=timeout, max_retries=retries)
        for url in base_urls
    ]
    return EndpointPool(members=members, max_in_flight=max_in_flight)
