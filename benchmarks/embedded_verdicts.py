"""The embedded critic's verdicts on given drafts, one JSON request per line on stdin, one JSON answer per
line on stdout: run with the Python of the SPRI install to measure, so P10 can compare two installs (this
tree and a checkout of an earlier commit) in one run.

A request: {"kind": "critic" | "judge" | "principles", "query", "draft", "principles" (critic), "shown"
(principles: what the writer was shown)}. An answer: {"score", "expected", "tokens" (decoded by the
critic), "seconds"}. Installs from before the embedded model moved to spri.models.embedded (and read
verdicts with ``averdict``) are driven through that older API.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys
import time
from typing import Any


def _model_and_subject() -> tuple[Any, Any, Any]:
    """The embedded chat model class, the Subject class, and a function (model, subject, slot) ->
    (critique, usage) for the installed SPRI."""
    try:
        from spri.models.embedded import LocalChatModel
        from spri.models.embedded.subject import Subject

        return LocalChatModel, Subject, lambda model, subject, slot: model.read_verdict(subject, slot)
    except ImportError:  # the install before the move
        from spri.models.local import LocalChatModel  # type: ignore[import-not-found,no-redef]
        from spri.models.subject import Subject  # type: ignore[import-not-found,no-redef]

        def read(model: Any, subject: Any, slot: str) -> Any:
            return asyncio.run(model.averdict([], max_tokens=512, slot=slot, config=None, subject=subject))

        return LocalChatModel, Subject, read


def main() -> None:
    model_class, subject_class, read = _model_and_subject()
    model = model_class()
    fields = {f.name for f in dataclasses.fields(subject_class)}
    for line in sys.stdin:
        if not line.strip():
            continue
        ask = json.loads(line)
        request = f"Request:\n{ask['query']}"
        parts: dict[str, Any] = {"query": ask["query"]}
        if ask["kind"] == "judge":
            subject = subject_class("response", request, **parts, judged=ask["draft"])
        elif ask["kind"] == "principles":
            shown = {"shown": ask.get("shown", "")} if "shown" in fields else {}
            subject = subject_class("principles", request, **parts, draft=ask["draft"], **shown)
        else:
            subject = subject_class("response", request, **parts, principles=ask["principles"], draft=ask["draft"])
        start = time.perf_counter()
        critique, usage = read(model, subject, f"bench:{ask['kind']}")
        seconds = time.perf_counter() - start
        answer = {
            "score": critique.score,
            "expected": critique.expected_score,
            "tokens": usage.input_tokens,
            "seconds": round(seconds, 4),
        }
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
