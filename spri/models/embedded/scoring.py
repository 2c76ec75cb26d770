"""Log-probabilities of given text under the embedded model, without generating and without
``logits_all`` (which would keep n_ctx x 49,152 floats per context).

llama-cpp-python 0.3.36 has no public call for "the log-probability of these tokens after that
prompt" on a context made with ``logits_all=False``, so this drives the context the way its own
``eval`` does (the version is pinned): keep the longest prefix already in the KV cache, decode the
rest in batches asking for logits only at the positions needed, and record what the cache now holds
in ``input_ids`` / ``n_tokens``, so the slot's next completion still reuses that prefix.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np


def chatml(turns: Sequence[tuple[str, str]], *, open_assistant: bool = True) -> str:
    """The ChatML text of (role, content) turns (SmolLM2's chat format), optionally with an assistant turn
    opened for the text to be scored."""
    text = "".join(f"<|im_start|>{role}\n{content}<|im_end|>\n" for role, content in turns)
    return text + "<|im_start|>assistant\n" if open_assistant else text


class Scorer:
    """Token log-probabilities on one loaded ``llama_cpp.Llama`` (the caller holds its slot's lock)."""

    def __init__(self, llm: Any) -> None:
        self.llm = llm
        self.n_vocab = int(llm.n_vocab())
        self.decoded = 0
        """Tokens actually decoded (after prefix reuse): the cost of the calls so far."""

    def tokens(self, text: str, *, special: bool = False) -> list[int]:
        return list(self.llm.tokenize(text.encode(), add_bos=False, special=special))

    def _reused(self, tokens: Sequence[int]) -> int:
        llm, common = self.llm, 0
        for cached, wanted in zip(llm.input_ids[: llm.n_tokens], tokens, strict=False):
            if int(cached) != wanted:
                break
            common += 1
        return common

    def _feed(self, tokens: Sequence[int], positions: set[int]) -> dict[int, Any]:
        """Make the context hold exactly ``tokens``; the logits after each token in ``positions``."""
        llm = self.llm
        start = min(self._reused(tokens), min(positions), len(tokens) - 1)
        llm._ctx.kv_cache_seq_rm(-1, start, -1)
        llm.n_tokens = start
        found: dict[int, Any] = {}
        for first in range(start, len(tokens), llm.n_batch):
            chunk = list(tokens[first : first + llm.n_batch])
            batch = llm._batch
            batch.set_batch(batch=chunk, n_past=first, logits_all=False)
            wanted = [j for j in range(len(chunk)) if first + j in positions]
            for j in range(len(chunk)):
                batch.batch.logits[j] = (first + j) in positions
            llm._ctx.decode(batch)
            for j in wanted:
                pointer = llm._ctx.get_logits_ith(j)
                found[first + j] = np.ctypeslib.as_array(pointer, shape=(self.n_vocab,)).copy()
            llm.input_ids[first : first + len(chunk)] = chunk
            llm.n_tokens = first + len(chunk)
            self.decoded += len(chunk)
        return found

    def token_logprobs(self, tokens: Sequence[int], spans: Iterable[tuple[int, int]]) -> list[list[float]]:
        """The log-probability of each token of each span [start, end) of ``tokens`` given all tokens
        before it (a span must start after position 0)."""
        spans = list(spans)
        logits = self._feed(tokens, {k - 1 for start, end in spans for k in range(start, end)})
        return [[float(_log_softmax(logits[k - 1])[tokens[k]]) for k in range(start, end)] for start, end in spans]

    def logprobs(self, tokens: Sequence[int], spans: Iterable[tuple[int, int]]) -> list[float]:
        """The mean log-probability per token of each span [start, end) of ``tokens`` given all tokens
        before it (a span must start after position 0)."""
        return [float(np.mean(values)) if values else 0.0 for values in self.token_logprobs(tokens, spans)]

    def next_logprobs(self, tokens: Sequence[int]) -> Any:
        """The log-probabilities of every token of the vocabulary right after ``tokens``."""
        return _log_softmax(self._feed(tokens, {len(tokens) - 1})[len(tokens) - 1])


def _log_softmax(logits: Any) -> Any:
    top = float(logits.max())
    return logits - top - float(np.log(np.exp(logits - top).sum()))
