"""SIGKILL at every node boundary and inside every model call, then resume in a new process.

Each scenario forks a child (a real process, killed with SIGKILL at the chosen moment), then forks a
second child that resumes the thread from the checkpoint database. The deterministic model journals
every call it starts and finishes (fsynced), so we can check that no finished node ran again, and the
resumed result must equal an uninterrupted run's, and the finished thread keeps only its last
checkpoint. Both SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import functools
import os
import signal
from pathlib import Path

import pytest

from spri import Result, Update, arun, astream
from tests.support.fakes import RUN_REFINING_EACH_STAGE_ONCE, scripted
from tests.support.kills import (
    call_key,
    calls,
    calls_after_resume,
    checkpoints_of,
    in_child,
    journal,
    journal_lines,
    refining_each_stage_once,
)

NODES = RUN_REFINING_EACH_STAGE_ONCE
CALLS = 8


def model(journal_path: Path | None = None, kill_in_call: int | None = None):
    count = {"n": 0}

    def reply(messages):
        key = call_key(messages)
        count["n"] += 1
        if journal_path:
            journal(journal_path, f"start {key}")
        if kill_in_call == count["n"]:
            os.kill(os.getpid(), signal.SIGKILL)
        text = refining_each_stage_once(messages)
        if journal_path:
            journal(journal_path, f"done {key}")
        return text

    return scripted(default=reply)


def _first_run(db: str, thread: str, journal_path: Path, kill_after_node: int | None, kill_in_call: int | None) -> None:
    async def go() -> None:
        seen = 0
        async for item in astream(
            "How do I learn to swim?", model=model(journal_path, kill_in_call), checkpointer=db, thread_id=thread
        ):
            if isinstance(item, Update):
                seen += 1
                if seen == kill_after_node:
                    os.kill(os.getpid(), signal.SIGKILL)

    asyncio.run(go())


def _resume(db: str, thread: str, journal_path: Path, out: Path) -> None:
    result = asyncio.run(arun(None, model=model(journal_path), checkpointer=db, thread_id=thread))
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
        journal_path, out = tmp_path / f"journal-{index}", tmp_path / f"result-{index}.json"
        kill_after, kill_in = (point, None) if where == "after" else (None, point)
        status = in_child(functools.partial(_first_run, db, thread, journal_path, kill_after, kill_in))
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, (where, point)
        before = journal_lines(journal_path)

        resumed = in_child(functools.partial(_resume, db, thread, journal_path, out))
        assert os.waitstatus_to_exitcode(resumed) == 0, (where, point)
        started_after = calls_after_resume(before, journal_lines(journal_path)[len(before) :], (where, point))
        assert len(calls(before, "done")) + len(started_after) == CALLS, (where, point)

        result = Result.model_validate_json(out.read_text())
        assert result.model_dump(exclude={"thread_id"}) == expected, (where, point)
        assert checkpoints_of(db, thread) == 1, (where, point)  # compacted once the resumed run finished
