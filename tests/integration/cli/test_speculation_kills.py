"""SIGKILL during a speculative response draft (``speculate``), then resume in a new process: the same
result as an uninterrupted speculative run, no finished call made again, and the speculation never
taken for a draft of the thread before ``draft_response`` uses it.

The speculation runs beside the critic of the same principles, so each kill inside it is staged at a
known point of that critic: still in flight (it waits to be killed), or done with its critique stored
in the checkpoint database (the speculation waits for it). No timing is involved.
"""

from __future__ import annotations

import asyncio
import functools
import os
import signal
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest
from langgraph.checkpoint.sqlite import SqliteSaver

from spri import Result, Update, arun, astream, load_thread
from tests.support.fakes import is_critic_prompt, scripted
from tests.support.kills import (
    call_key,
    calls,
    calls_after_resume,
    in_child,
    journal,
    journal_lines,
    refining_each_stage_once,
)

QUERY = "How do I learn to swim?"
CALLS = 9
"""principles, its critique (refine), a speculation from them (discarded), the revision, its critique
(accepted), a speculation from it (used), the response's critique (refine), its revision, its critique."""

EXCLUDED = {"thread_id", "tokens", "speculative_wasted_tokens"}
"""A discarded speculation's tokens depend on whether it was cancelled in flight or had finished."""


@dataclass(frozen=True)
class Kill:
    round: int | None = None
    """Kill inside the speculation from this round's principles ..."""
    critic_done: bool = False
    """... once the critic of those principles has its critique stored (else while it is in flight)."""
    after: str | None = None
    """Or kill once this node's first update arrives."""


def _critique_stored(db: str, thread: str) -> bool:
    """Whether the critique being made beside the speculation is saved in the checkpoint database: the
    result of the ``judge`` task of ``judge_principles`` among the pending writes of the thread's latest
    checkpoint (the node's own writes come only when the speculation has ended too)."""
    with SqliteSaver.from_conn_string(db) as saver:
        saved = saver.get_tuple({"configurable": {"thread_id": thread}})
    writes = saved.pending_writes if saved is not None else None
    return any(isinstance(value, dict) and "critiques" in value for _, _, value in writes or ())


def model(journal_path: Path | None = None, kill: Kill | None = None, db: str = "", thread: str = "", speculating=True):
    """The deterministic model of test_kills, journalling each call it starts and finishes. With
    ``speculating``, a critic of principles returns only once the speculation from them has reached the
    model (as with a real endpoint), and ``kill`` is staged in the speculation of its round."""
    speculation_started, critic_started = defaultdict(threading.Event), defaultdict(threading.Event)

    def stage_the_kill() -> None:
        assert kill is not None and kill.round is not None
        if not kill.critic_done:
            critic_started[kill.round].wait(60)
        deadline = time.monotonic() + 60
        while kill.critic_done and not _critique_stored(db, thread) and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(os.getpid(), signal.SIGKILL)

    def reply(messages):
        key = call_key(messages)
        critic, drafting_principles = is_critic_prompt(messages), "guiding" in messages[0].text
        revised = "revised" in messages[1].text.split("under review:")[-1]
        round_ = 2 if revised else 1  # of the principles judged, or followed by a first response draft
        if journal_path:
            journal(journal_path, f"start {key}")
        if speculating and critic and "Principles under review" in messages[1].text:
            critic_started[round_].set()
            if kill == Kill(round=round_):
                threading.Event().wait(60)  # in flight until the speculation beside it is killed
            speculation_started[round_].wait(60)
        if speculating and not critic and not drafting_principles and len(messages) == 2:  # the speculation
            speculation_started[round_].set()
            if kill is not None and kill.round == round_:
                stage_the_kill()
        if drafting_principles and len(messages) > 2 and kill == Kill(round=1, critic_done=True):
            threading.Event().wait(60)  # the refinement after a called-off speculation waits for the kill
        text = refining_each_stage_once(messages)
        if journal_path:
            journal(journal_path, f"done {key}")
        return text

    return scripted(default=reply)


def _first_run(db: str, thread: str, journal_path: Path, kill: Kill) -> None:
    async def go() -> None:
        speculating = model(journal_path, kill, db, thread)
        async for item in astream(QUERY, model=speculating, checkpointer=db, thread_id=thread, speculate=True):
            if isinstance(item, Update) and item.node == kill.after:
                os.kill(os.getpid(), signal.SIGKILL)

    asyncio.run(go())


def _resume(db: str, thread: str, journal_path: Path, out: Path, kill: Kill) -> None:
    async def go() -> None:
        before = await load_thread(thread, db)
        assert before is not None and before.result.status == "incomplete"
        result = await arun(None, model=model(journal_path), checkpointer=db, thread_id=thread)
        if kill.after != "draft_response":  # a speculation is no draft of the thread until it is used
            assert "response" not in before.result.drafts
        elif before.result.drafts.get("response"):
            assert before.result.drafts["response"] == result.drafts["response"][:1]
        out.write_text(result.model_dump_json())

    asyncio.run(go())


SCENARIOS = {
    "in the discarded speculation, critic in flight": Kill(round=1),
    "in the discarded speculation, critique stored": Kill(round=1, critic_done=True),
    "in the used speculation, critic in flight": Kill(round=2),
    "in the used speculation, critique stored": Kill(round=2, critic_done=True),
    "after the principles were refined (a discarded speculation pending)": Kill(after="refine_principles"),
    "after the speculation was used": Kill(after="draft_response"),
}


@pytest.fixture(scope="module")
def expected() -> tuple[Result, Result]:
    speculative = asyncio.run(arun(QUERY, model=model(), speculate=True))
    plain = asyncio.run(arun(QUERY, model=model(speculating=False)))
    assert speculative.calls == CALLS == plain.calls + 1 and speculative.speculative_wasted == 1
    return speculative, plain


@pytest.mark.parametrize("name", SCENARIOS)
def test_kill_during_speculation_then_resume(name, expected, db, tmp_path):
    thread, journal_path, out = f"{os.getpid()}-{tmp_path.name}", tmp_path / "journal", tmp_path / "result.json"
    status = in_child(functools.partial(_first_run, db, thread, journal_path, SCENARIOS[name]))
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, name
    before = journal_lines(journal_path)

    resumed = in_child(functools.partial(_resume, db, thread, journal_path, out, SCENARIOS[name]))
    assert os.waitstatus_to_exitcode(resumed) == 0, name
    started_after = calls_after_resume(before, journal_lines(journal_path)[len(before) :], name)
    # every call was made (a called-off speculation cut by the kill is not made again: it was not needed)
    assert len(set(calls(before, "start")) | set(started_after)) == CALLS, name

    result = Result.model_validate_json(out.read_text())
    speculative, plain = expected
    assert result.model_dump(exclude=EXCLUDED) == speculative.model_dump(exclude=EXCLUDED), name
    spending = EXCLUDED | {"calls", "calls_per_role", "speculative_wasted"}
    assert result.model_dump(exclude=spending) == plain.model_dump(exclude=spending), name
