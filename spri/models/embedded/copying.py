"""Copying, measured on words (no model calls): what a 135M model does with text it is shown.

Shown seed examples, prompt instructions and feedback, it repeats them (a principle copied word for word
from a software seed under a question about an abusive partner; the critic's own feedback sentence
returned as a principle); shown principles, it answers with them reworded as orders to itself ("1. Point
out the sky is blue ... 2. Explain that ..."). The critic caps such drafts, and drafting keeps seed
examples away from requests they do not fit.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from spri.models.embedded.text import items, jaccard, sentences, words

COPIED_RUN = 6
"""Words in a row shared with a shown text from which a draft counts as copying it."""
RESTATED_SHARE = 0.4
"""Share of a response's items (or sentences) that restate a principle from which it restates them."""

_WRITER_VERB = re.compile(
    r"(?i)^\s*(?:\d+[.)]\s*)?(?:explain|describe|mention|point out|discuss|emphasi[sz]e|highlight|outline|"
    r"give (?:an?|one|some) (?:example|explanation|overview)|(?:encourage|remind|tell) the (?:person|user|reader))\b"
)
"""An item or sentence that opens with an order to the writer ("Explain that ...", "Point out ...")."""

_FUNCTION_TEXT = """
a about after all also an and any are as at be been being but by can could did do does doing for from get
gets getting had has have how i if in into is it its just me more most much my no not of on or our out
should so some than that the their them then there these they this those to too up us very was we were
what when where which who why will with would you your
"""
_GENERIC_TEXT = """
best better feel good help keep know like long longer make many need safe start stop take taking tell thing
things time tips want way ways work write
"""
_FUNCTION_WORDS = frozenset(_FUNCTION_TEXT.split())
_GENERIC_WORDS = frozenset(_GENERIC_TEXT.split())
"""Words too common in requests to say two requests are about the same thing."""


def longest_run(text: str, source: str) -> int:
    """The most words in a row that ``text`` shares with ``source`` (case and punctuation ignored)."""
    a, b = words(text), words(source)
    if not a or not b:
        return 0
    best, previous = 0, [0] * (len(b) + 1)
    for word in a:
        current = [0] * (len(b) + 1)
        for j, other in enumerate(b, 1):
            if word == other:
                current[j] = previous[j - 1] + 1
                best = max(best, current[j])
        previous = current
    return best


def copies(text: str, sources: Iterable[str], run: int = COPIED_RUN) -> bool:
    """Whether ``text`` repeats ``run`` or more words in a row of any source."""
    return any(longest_run(text, source) >= run for source in sources if source)


def restates(response: str, principles: str) -> bool:
    """Whether a response restates the principles as instructions instead of following them: at least
    two of its items (or sentences), and ``RESTATED_SHARE`` of them, give the writer orders ("Explain
    ...", "Point out ...") or say what a principle says."""
    listed = items(principles)
    parts = [p for p in items(response) if p] if len(items(response)) > 1 else sentences(response)
    if len(parts) < 2:
        return False
    restated = sum(bool(_WRITER_VERB.match(p)) or any(jaccard(p, q) >= 0.5 for q in listed) for p in parts)
    return restated >= 2 and restated >= RESTATED_SHARE * len(parts)


def _stems(text: str) -> set[str]:
    return {w[:5] for w in words(text) if len(w) > 2 and w not in _FUNCTION_WORDS and w not in _GENERIC_WORDS}


def fits(request: str, query: str) -> bool:
    """Whether a seed example's request is about the same subject as ``query``: they share two content
    words (by their first five letters), or one if the seed's request has fewer than four."""
    seed, asked = _stems(request), _stems(query)
    shared = len(seed & asked)
    return shared >= 2 or (shared == 1 and len(seed) < 4)


def kept_examples(examples: Sequence[str], requests: Sequence[str], query: str) -> list[str]:
    """The seed examples whose request fits ``query``."""
    return [example for example, request in zip(examples, requests, strict=True) if fits(request, query)]
