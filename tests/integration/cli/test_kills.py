"""SIGKILL at every node boundary and inside every model call, then resume in a new process.

Each scenario forks a child (a real process, killed with SIGKILL at the chosen moment), then forks a
second child that resumes the thread from the checkpoint database. The deterministic model journals
every call it starts and finishes (fsynced), so we can check that no finished node ran again, and the
resumed result must equal an uninterrupted run's. Both SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import os
import signal
from pathlib import Path
from typing import Any

import pytest

from spri import Result, Update, arun, astream
from tests.support.fakes import RUN_REFINING_EACH_STAGE_ONCE, critique, is_critic_prompt, scripted

NODES = RUN_REFINING_EACH_STAGE_ONCE
CALLS = 8


def _journal(path: Path, line: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def model(journal: Path | None = None, kill_in_call: int | None = None):
    calls = {"n": 0}

    def reply(messages):
        key = hashlib.sha256("".join(m.text for m in messages).encode()).hexdigest()[:12]
        calls["n"] += 1
        if journal:
            _journal(journal, f"start {key}")
        if kill_in_call == calls["n"]:
            os.kill(os.getpid(), signal.SIGKILL)
        if is_critic_prompt(messages):
            text = critique(5 if "revised" in messages[-1].text.split("under review:")[-1] else 2)
        else:
            text = ("revised " if len(messages) > 2 else "") + (
                "principles" if "guiding" in messages[0].text else "answer"
            )
        if journal:
            _journal(journal, f"done {key}")
        return text

    return scripted(default=reply)


def _in_child(target: Any) -> int:
    """Run ``target`` in a forked child; return its wait status."""
    pid = os.fork()
    if pid == 0:  # child
        try:
            target()
        finally:
            os._exit(0)
    _, status = os.waitpid(pid, 0)
    return status


def _first_run(db: str, thread: str, journal: Path, kill_after_node: int | None, kill_in_call: int | None) -> None:
    async def go() -> None:
        seen = 0
        async for item in astream(
            "How do I learn to swim?", model=model(journal, kill_in_call), checkpointer=db, thread_id=thread
        ):
            if isinstance(item, Update):
                seen += 1
                if seen == kill_after_node:
                    os.kill(os.getpid(), signal.SIGKILL)

    asyncio.run(go())


def _resume(db: str, thread: str, journal: Path, out: Path) -> None:
    result = asyncio.run(arun(None, model=model(journal), checkpointer=db, thread_id=thread))
    out.write_text(result.model_dump_json())


SCENARIOS = [("after", n) for n in range(1, len(NODES))] + [("in call", c) for c in range(1, CALLS + 1)]


@pytest.fixture(params=["sqlite", "postgres"])
def db(request, tmp_path):
    return str(tmp_path / "kills.sqlite") if request.param == "sqlite" else request.getfixturevalue("pg_url")


def test_kill_anywhere_then_resume(db, tmp_path):
    baseline = asyncio.run(arun("How do I learn to swim?", model=model()))
    expected = baseline.model_dump(exclude={"thread_id"})
    for index, (where, point) in enumerate(SCENARIOS):
        thread = f"{os.getpid()}-{tmp_path.name}-{index}"
        journal, out = tmp_path / f"journal-{index}", tmp_path / f"result-{index}.json"
        kill_after, kill_in = (point, None) if where == "after" else (None, point)
        status = _in_child(functools.partial(_first_run, db, thread, journal, kill_after, kill_in))
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, (where, point)
        before = journal.read_text().splitlines() if journal.exists() else []
        finished_before = {line.split()[1] for line in before if line.startswith("done")}

        resumed = _in_child(functools.partial(_resume, db, thread, journal, out))
        assert os.waitstatus_to_exitcode(resumed) == 0, (where, point)
        after = journal.read_text().splitlines()[len(before) :]
        started_after = [line.split()[1] for line in after if line.startswith("start")]
        assert not finished_before & set(started_after), f"{where} {point}: a finished call ran again"
        assert len(started_after) == len(set(started_after))
        assert len(finished_before) + len(started_after) == CALLS, (where, point)

        result = Result.model_validate_json(out.read_text())
        assert result.model_dump(exclude={"thread_id"}) == expected, (where, point)
