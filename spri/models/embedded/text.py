"""Text measures and clean-up for the embedded model's drafts (no model calls).

A 135M model repeats itself, copies what it was shown, writes about "the principles" instead of
answering, and stops where the token budget runs out. These pure functions measure that (for the
embedded critic's checks and the benchmark) and repair what can be repaired: a no-repeat-n-gram ban
while generating, and trimming to the last full sentence afterwards.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

_WORD = re.compile(r"[a-z0-9']+")
_ITEM = re.compile(r"^\s*\d+[.)]\s*(.+)$")
_SENTENCE_END = re.compile(r"[.!?][\"')\]]*(?=\s|$)")
_LIST_NUMBER = re.compile(r"(?:^|\n)\s*\d+[.)]$")
_ENDS_SENTENCE = re.compile(r"[.!?][\"')\]]*\s*$")
PREAMBLE = re.compile(r"(?is)^\s*(?:sure|certainly|of course|here(?:'s| is)|below is)[^\n]{0,80}:\s*\n+")
"""An announcing first line ("Here's my answer:"), dropped from a response."""
PREAMBLE_START = re.compile(r"(?is)^\s*(?:sure|certainly|of course|here|below)")
"""What such a line may start with (a draft still being written that starts so may yet have one)."""
META = re.compile(
    r"(?i)rewritten version|revised (?:version|response)|i made (?:a few |the following |some )?changes"
    r"|this response (?:is|was)|\bprinciples?\b|\bfeedback\b"
)
"""Talk about a text (a rewrite, the principles, the feedback) instead of an answer."""
NEAR_DUPLICATE = 0.6
"""Word-set Jaccard similarity from which two items count as saying the same thing."""


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def ngrams(tokens: Sequence[Any], n: int) -> list[tuple[Any, ...]]:
    return [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]


def items(text: str) -> list[str]:
    """The numbered items of a list ("1. ...", "2) ..."), or its non-empty lines if none is numbered."""
    numbered = [m.group(1).strip() for line in text.splitlines() if (m := _ITEM.match(line)) and m.group(1).strip()]
    return numbered or [line.strip() for line in text.splitlines() if line.strip()]


def repetition(text: str, n: int = 3) -> float:
    """1 - distinct/total word n-grams: 0 when no word n-gram occurs twice."""
    grams = ngrams(words(text), n)
    return 1 - len(set(grams)) / max(1, len(grams))


def share_in(text: str, source: str, n: int = 3) -> float:
    """The share of ``text``'s word n-grams that also occur in ``source`` (copying)."""
    seen = set(ngrams(words(source), n))
    grams = ngrams(words(text), n)
    return sum(g in seen for g in grams) / max(1, len(grams))


def jaccard(a: str, b: str) -> float:
    wa, wb = set(words(a)), set(words(b))
    return len(wa & wb) / max(1, len(wa | wb))


def near_duplicates(lines: Sequence[str], threshold: float = NEAR_DUPLICATE) -> int:
    """How many pairs of lines say nearly the same thing (word-set Jaccard >= threshold)."""
    return sum(jaccard(lines[i], lines[j]) >= threshold for i in range(len(lines)) for j in range(i + 1, len(lines)))


def sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+", text) if s.strip()]


def ends_sentence(text: str) -> bool:
    return bool(_ENDS_SENTENCE.search(text.strip()))


def sentence_ends(text: str) -> list[int]:
    """Where the sentences of ``text`` end (a list number such as "4." ends none)."""
    return [m.end() for m in _SENTENCE_END.finditer(text) if not _LIST_NUMBER.search(text[: m.end()])]


def trim_to_sentence(text: str) -> str:
    """``text`` cut after its last full sentence (a list number such as "4." ends none), without trailing
    lines that only announce more ("...:"). Unchanged if the cut would lose more than 60 % of it."""
    text = text.strip()
    ends = sentence_ends(text)
    if not ends:
        return text
    cut = text[: ends[-1]].rstrip()
    if len(cut) < 0.4 * len(text):
        return text
    lines = cut.split("\n")
    while len(lines) > 1 and lines[-1].rstrip().endswith(":"):
        lines.pop()
    cut = "\n".join(lines).rstrip()
    last = sentences(cut)[-1] if sentences(cut) else ""
    if last.count('"') % 2 and len(cut) - len(last) >= 0.4 * len(text):  # an unclosed quotation
        cut = cut[: len(cut) - len(last)].rstrip()
    return cut


def clean_response(text: str) -> str:
    """A response without an announcing first line ("Here's my answer:") or quotes wrapping all of it,
    ending at its last full sentence."""
    text = PREAMBLE.sub("", text.strip()).strip()
    if len(text) > 1 and text[0] == '"' and text.endswith('"') and text.count('"') == 2:
        text = text[1:-1].strip()
    return trim_to_sentence(text)


class NoRepeatNGram:
    """A llama.cpp logits processor that bans every token completing a token n-gram already generated,
    and (``source``) every token completing a ``source_n``-gram of other text, e.g. the principles a
    response must not copy. A ban subtracts ``penalty`` rather than setting -inf, so a token a grammar
    forces stays possible. Penalties of llama.cpp itself only look back 64 tokens; this sees it all.
    Without ``prompt_length``, the input at the first call is taken as the prompt."""

    def __init__(
        self,
        prompt_length: int | None = None,
        n: int = 4,
        source: Sequence[int] = (),
        source_n: int = 5,
        penalty: float = 1e4,
    ) -> None:
        self.start, self.n, self.source_n, self.penalty = prompt_length, n, source_n, penalty
        self.followers: dict[tuple[int, ...], set[int]] = {}
        for gram in ngrams(list(source), source_n):
            self.followers.setdefault(tuple(gram[:-1]), set()).add(gram[-1])

    def banned(self, generated: Sequence[int]) -> set[int]:
        n, out = self.n, set()
        if len(generated) >= n - 1:
            key = tuple(generated[len(generated) - n + 1 :])
            for i in range(len(generated) - n + 1):
                if tuple(generated[i : i + n - 1]) == key:
                    out.add(int(generated[i + n - 1]))
        if self.followers and len(generated) >= self.source_n - 1:
            out |= self.followers.get(tuple(int(t) for t in generated[len(generated) - self.source_n + 1 :]), set())
        return out

    def __call__(self, input_ids: Any, logits: Any) -> Any:
        if self.start is None:
            self.start = len(input_ids)
        for token in self.banned([int(t) for t in input_ids[self.start :]]):
            logits[token] -= self.penalty
        return logits
