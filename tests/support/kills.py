"""Kill-and-resume tests: runs in forked children (killed with SIGKILL at a chosen moment), a journal of
model calls that survives the kill, and the deterministic model replies both runs share."""

from __future__ import annotations

import hashlib
import os
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from tests.support.fakes import critique, is_critic_prompt


def in_child(target: Callable[[], Any]) -> int:
    """Run ``target`` in a forked child; its wait status (exit code 1, with the traceback on stderr, if
    it raised)."""
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            target()
        except BaseException:
            traceback.print_exc()
            code = 1
        finally:
            os._exit(code)
    return os.waitpid(pid, 0)[1]


def journal(path: Path, line: str) -> None:
    """Append ``line`` to the journal and fsync it, so it outlives a SIGKILL right after."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def journal_lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def call_key(messages: Sequence[Any]) -> str:
    """A model call's identity: a digest of its prompt (the same call in another process has the same key)."""
    return hashlib.sha256("".join(m.text for m in messages).encode()).hexdigest()[:12]


def calls(lines: Sequence[str], event: str) -> list[str]:
    """The keys of the journal's ``event`` ('start' or 'done') lines, in order."""
    return [line.split()[1] for line in lines if line.startswith(event)]


def calls_after_resume(before: Sequence[str], after: Sequence[str], label: Any) -> list[str]:
    """The calls the resumed run started, checked: none had finished before the kill, none started twice."""
    started = calls(after, "start")
    assert not set(calls(before, "done")) & set(started), f"{label}: a finished call ran again"
    assert len(started) == len(set(started)), f"{label}: a call started twice"
    return started


def refining_each_stage_once(messages: Sequence[Any]) -> str:
    """The reply of the model both runs use: a first draft scores 2, its revision 5."""
    if is_critic_prompt(messages):
        return critique(5 if "revised" in messages[-1].text.split("under review:")[-1] else 2)
    kind = "principles" if "guiding" in messages[0].text else "answer"
    return ("revised " if len(messages) > 2 else "") + kind


def checkpoints_of(db: str, thread: str) -> int:
    """How many checkpoints the database keeps for ``thread`` (SQLite path or PostgreSQL URL)."""
    import asyncio

    from spri.api import open_checkpointer

    async def count() -> int:
        async with open_checkpointer(db) as saver:
            return len([c async for c in saver.alist({"configurable": {"thread_id": thread}})])

    return asyncio.run(count())
