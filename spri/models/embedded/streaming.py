"""The embedded model's reply as it is written: llama-cpp-python's chat stream turned into LangChain
message chunks that add up to exactly the whole reply (text, metadata, token usage).

llama-cpp-python's stream reports neither the prompt's length nor how many tokens were generated, so
a logits processor counts them: called once per sampled token, it sees the context (the prompt, then
the tokens so far). The last token sampled ends the reply: an end-of-generation token (not counted,
as in the whole reply's usage) unless the reply ran into ``max_tokens``.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, TypeVar

from langchain_core.messages import AIMessageChunk
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGenerationChunk

from spri.models.embedded.text import PREAMBLE, PREAMBLE_START, sentence_ends

T = TypeVar("T")


def usage_metadata(prompt_tokens: int, completion_tokens: int) -> UsageMetadata:
    return {
        "input_tokens": prompt_tokens,
        "output_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


def reply_metadata(finish_reason: Any, model_name: str, digit_probs: list[list[float]]) -> dict[str, Any]:
    """What a reply carries besides its text: why it ended, the model, P(1..5) at the score marker."""
    metadata: dict[str, Any] = {"finish_reason": finish_reason, "model_name": model_name}
    if digit_probs:
        metadata["digit_probs"] = digit_probs[0]
    return metadata


class TokenTally:
    """A logits processor that counts the prompt's tokens and the tokens sampled."""

    def __init__(self) -> None:
        self.prompt_tokens = 0
        self.sampled = 0

    def __call__(self, input_ids: Any, logits: Any) -> Any:
        if not self.sampled:
            self.prompt_tokens = len(input_ids)
        self.sampled += 1
        return logits

    def completion_tokens(self, finish_reason: Any) -> int:
        return self.sampled if finish_reason == "length" else max(0, self.sampled - 1)


class Stripped:
    """Pieces of text in, pieces out whose concatenation is the whole text ``.strip()``-ed: leading
    whitespace is dropped, trailing whitespace held until more text follows it."""

    def __init__(self) -> None:
        self.started = False
        self.held = ""

    def feed(self, piece: str) -> str:
        if not self.started:
            piece = piece.lstrip()
            self.started = bool(piece)
        text = self.held + piece
        body = text.rstrip()
        self.held = text[len(body) :]
        return body


class Finished:
    """Pieces of a draft in (already stripped), pieces out whose concatenation is the draft as
    ``finish`` leaves it (spri.models.embedded.drafts: an announcing first line dropped, cut after the last
    full sentence). Text is let out up to the end of the sentence before the last complete one, which
    no later text or trimming can change; the rest comes when the draft is done. Should ``finish``
    change text already let out (an edge case of quotation marks), the draft is what was let out."""

    def __init__(self, finish: Callable[[str], tuple[str, bool]]) -> None:
        self.finish = finish
        self.text = ""
        self.sent = ""

    def feed(self, piece: str) -> str:
        self.text += piece
        safe = settled(self.text)
        if len(safe) <= len(self.sent) or not safe.startswith(self.sent):
            return ""
        out, self.sent = safe[len(self.sent) :], safe
        return out

    def close(self) -> tuple[str, bool]:
        """(the rest of the draft, whether it was trimmed)."""
        finished, trimmed = self.finish(self.text)
        if not finished.startswith(self.sent):
            return "", True
        return finished[len(self.sent) :], trimmed


def settled(text: str) -> str:
    """The part of a finished draft that ``text``, a draft still being written, already fixes."""
    if text.startswith('"'):  # a reply quoted whole is unwrapped when done
        return ""
    if PREAMBLE_START.match(text):
        if "\n" not in text:
            return ""
        text = PREAMBLE.sub("", text).strip()
    ends = sentence_ends(text)
    return text[: ends[-2]] if len(ends) >= 2 else ""


def stream_reply(
    llm: Any,
    lock: threading.Lock,
    request: dict[str, Any],
    model_name: str,
    digit_probs: list[list[float]],
    finish: Callable[[str], tuple[str, bool]] | None = None,
) -> Iterator[ChatGenerationChunk]:
    """The chunks of one streamed chat completion (``request``: create_chat_completion's arguments);
    the last one carries the finish reason, the digit probabilities and the token usage. ``finish``: how
    the whole draft is finished (see :class:`Finished`)."""
    tally = TokenTally()
    processors = [tally, *(request.get("logits_processor") or [])]
    text = Stripped()
    finished = Finished(finish) if finish is not None else None
    finish_reason = None
    with lock:
        for part in llm.create_chat_completion(**{**request, "logits_processor": processors, "stream": True}):
            choice = part["choices"][0]
            finish_reason = choice.get("finish_reason") or finish_reason
            piece = text.feed(choice.get("delta", {}).get("content") or "")
            if piece and finished is not None:
                piece = finished.feed(piece)
            if piece:
                yield ChatGenerationChunk(message=AIMessageChunk(content=piece))
    metadata = reply_metadata(finish_reason, model_name, digit_probs)
    rest = ""
    if finished is not None:
        rest, metadata["trimmed"] = finished.close()
    last = AIMessageChunk(
        content=rest,
        response_metadata=metadata,
        usage_metadata=usage_metadata(tally.prompt_tokens, tally.completion_tokens(finish_reason)),
        chunk_position="last",
    )
    yield ChatGenerationChunk(message=last)


_END = object()


async def in_worker_thread(make: Callable[[], Iterator[T]]) -> AsyncIterator[T]:
    """The items of a blocking iterator, produced in one worker thread and handed over as they come.
    If the consumer stops early (or is cancelled), the worker stops at its next item and closes the
    iterator, so whatever it holds (the slot's lock) is released."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[Any, BaseException | None]] = asyncio.Queue()
    stop = threading.Event()

    def hand_over(item: Any, error: BaseException | None = None) -> None:
        try:
            loop.call_soon_threadsafe(queue.put_nowait, (item, error))
        except RuntimeError:  # the loop is closed: nobody is waiting any more
            stop.set()

    def work() -> None:
        try:
            items = make()
            try:
                for item in items:
                    if stop.is_set():
                        break
                    hand_over(item)
            finally:
                close = getattr(items, "close", None)
                if close is not None:
                    close()
        except BaseException as exc:  # handed to the consumer, raised there
            hand_over(_END, exc)
        else:
            hand_over(_END)

    loop.run_in_executor(None, contextvars.copy_context().run, work)
    try:
        while True:
            item, error = await queue.get()
            if error is not None:
                raise error
            if item is _END:
                return
            yield item
    finally:
        stop.set()
