"""The embedded critic's verdicts on given drafts, with whichever SPRI is imported: the embedded loop's
benchmark (bench_embedded_loop.py) measures two commits side by side (benchmarks/compare.py), and the
earlier one may predate the embedded model's package (spri.models.embedded), when it read verdicts
with ``averdict`` of ``spri.models.local``.

:func:`reader` gives a function (kind, query, draft, principles) -> (score, tokens the critic read), where kind is
'critic' (a response with its principles), 'judge' (a response judged without principles) or
'principles' (a principles draft).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

Verdict = Callable[[str, str, str, str], tuple[int, int]]


def _model_and_reader() -> tuple[Any, Any, Callable[[Any, Any, str], Any]]:
    """The embedded chat model class, the Subject class, and a function (model, subject, slot) ->
    (critique, usage) for the installed SPRI."""
    try:
        from spri.models.embedded import LocalChatModel
        from spri.models.embedded.subject import Subject

        return LocalChatModel, Subject, lambda model, subject, slot: model.read_verdict(subject, slot)
    except ImportError:  # the layout before the embedded model had a package of its own
        from spri.models.local import LocalChatModel  # type: ignore[import-not-found,no-redef]
        from spri.models.subject import Subject  # type: ignore[import-not-found,no-redef]

        def read(model: Any, subject: Any, slot: str) -> Any:
            return asyncio.run(model.averdict([], max_tokens=512, slot=slot, config=None, subject=subject))

        return LocalChatModel, Subject, read


def reader() -> Verdict:
    model_class, subject_class, read = _model_and_reader()
    model = model_class()

    def verdict(kind: str, query: str, draft: str, principles: str) -> tuple[int, int]:
        request = f"Request:\n{query}"
        if kind == "judge":
            subject = subject_class("response", request, query=query, judged=draft)
        elif kind == "principles":
            subject = subject_class("principles", request, query=query, draft=draft)
        else:
            subject = subject_class("response", request, query=query, principles=principles, draft=draft)
        critique, usage = read(model, subject, f"bench:{kind}")
        return critique.score or 0, usage.input_tokens

    return verdict
