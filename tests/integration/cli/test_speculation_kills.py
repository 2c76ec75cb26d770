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
import hashlib
import os
import signal
import threading
import time
import traceback
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.sqlite import SqliteSaver

from spri import Result, Update, arun, astream, load_thread
from tests.integration.cli.test_kills import _journal
from tests.support.fakes import critique, is_critic_prompt, scripted

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


def model(journal: Path | None = None, kill: Kill | None = None, db: str = "", thread: str = "", speculating=True):
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
        key = hashlib.sha256("".join(m.text for m in messages).encode()).hexdigest()[:12]
        critic, drafting_principles = is_critic_prompt(messages), "guiding" in messages[0].text
        revised = "revised" in messages[1].text.split("under review:")[-1]
        round_ = 2 if revised else 1  # of the principles judged, or followed by a first response draft
        if journal:
            _journal(journal, f"start {key}")
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
        if critic:
            text = critique(5 if revised else 2)
        else:
            text = ("revised " if len(messages) > 2 else "") + ("principles" if drafting_principles else "answer")
        if journal:
            _journal(journal, f"done {key}")
        return text

    return scripted(default=reply)


def _in_child(target: Any) -> int:
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


def _first_run(db: str, thread: str, journal: Path, kill: Kill) -> None:
    async def go() -> None:
        speculating = model(journal, kill, db, thread)
        async for item in astream(QUERY, model=speculating, checkpointer=db, thread_id=thread, speculate=True):
            if isinstance(item, Update) and item.node == kill.after:
                os.kill(os.getpid(), signal.SIGKILL)

    asyncio.run(go())


def _resume(db: str, thread: str, journal: Path, out: Path, kill: Kill) -> None:
    async def go() -> None:
        before = await load_thread(thread, db)
        assert before is not None and before.result.status == "incomplete"
        result = await arun(None, model=model(journal), checkpointer=db, thread_id=thread)
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
    thread, journal, out = f"{os.getpid()}-{tmp_path.name}", tmp_path / "journal", tmp_path / "result.json"
    status = _in_child(functools.partial(_first_run, db, thread, journal, SCENARIOS[name]))
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, name
    before = journal.read_text().splitlines()
    started_before = {line.split()[1] for line in before if line.startswith("start")}
    finished_before = {line.split()[1] for line in before if line.startswith("done")}

    resumed = _in_child(functools.partial(_resume, db, thread, journal, out, SCENARIOS[name]))
    assert os.waitstatus_to_exitcode(resumed) == 0, name
    after = journal.read_text().splitlines()[len(before) :]
    started_after = [line.split()[1] for line in after if line.startswith("start")]
    assert not finished_before & set(started_after), f"{name}: a finished call ran again"
    assert len(started_after) == len(set(started_after))
    # every call was made (a called-off speculation cut by the kill is not made again: it was not needed)
    assert len(started_before | set(started_after)) == CALLS, name

    result = Result.model_validate_json(out.read_text())
    speculative, plain = expected
    assert result.model_dump(exclude=EXCLUDED) == speculative.model_dump(exclude=EXCLUDED), name
    spending = EXCLUDED | {"calls", "calls_per_role", "speculative_wasted"}
    assert result.model_dump(exclude=spending) == plain.model_dump(exclude=spending), name
