"""What a checkpoint database keeps: a thread compacted to its latest checkpoint when its run ends
(finished or paused for a review, and still continued and read back as before), threads deleted on
request or pruned after a time, never while a run holds them."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
from langgraph.checkpoint.base.id import uuid6

from spri import arun, load_thread
from spri.api import ThreadBusy, delete_thread, open_checkpointer, parse_duration, prune_threads
from spri.storage import StorageError, thread_lease
from spri.storage.retention import uuid6_at
from tests.support.fakes import critique, scripted


def model():
    return scripted("P1", critique(3, "Vague."), "P2", critique(5), "R1", critique(5))


def rows(db: str, table: str, thread: str) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute(f"SELECT count(*) FROM {table} WHERE thread_id = ?", (thread,)).fetchone()[0]


async def test_a_finished_thread_keeps_only_its_last_checkpoint_and_reads_back_whole(db):
    done = await arun("Q?", model=model(), checkpointer=db, thread_id="t")
    assert rows(db, "checkpoints", "t") == 1 and rows(db, "writes", "t") == 0
    thread = await load_thread("t", db)
    assert thread.result.model_dump(exclude={"thread_id"}) == done.model_dump(exclude={"thread_id"})
    assert thread.result.drafts["principles"] == ["P1", "P2"]  # the stage history lives in the state
    assert thread.settings and thread.input.query == "Q?"
    again = await arun("Other?", model=scripted("P", critique(5), "R", critique(5)), checkpointer=db, thread_id="t")
    assert again.response == "R" and rows(db, "checkpoints", "t") == 1


async def test_a_paused_review_is_compacted_and_still_resumes(db):
    m = scripted("P1", critique(5), "R1", critique(5))
    paused = await arun("Q?", model=m, review_principles=True, checkpointer=db, thread_id="t")
    assert paused.status == "interrupted"
    assert rows(db, "checkpoints", "t") == 1 and rows(db, "writes", "t") >= 1  # the pending review
    assert (await load_thread("t", db)).result.interrupt == paused.interrupt
    done = await arun(None, model=m, checkpointer=db, thread_id="t", resume="approve")
    assert done.status == "done" and done.response == "R1" and done.review == "approved" and done.calls == 4
    assert rows(db, "checkpoints", "t") == 1


async def test_a_run_that_stopped_part_way_is_left_whole_and_continues(db):
    failing = scripted("P1", critique(5), RuntimeError("endpoint down"))
    with pytest.raises(RuntimeError):
        await arun("Q?", model=failing, checkpointer=db, thread_id="t")
    kept = rows(db, "checkpoints", "t")
    assert kept > 1  # not compacted: continuing needs nothing more, but nothing is taken away either
    done = await arun(None, model=scripted("R1", critique(5)), checkpointer=db, thread_id="t")
    assert done.status == "done" and done.response == "R1" and rows(db, "checkpoints", "t") == 1


async def test_compaction_is_asked_for_or_follows_who_opened_the_database(db):
    await arun("Q?", model=model(), checkpointer=db, thread_id="kept", compact=False)
    assert rows(db, "checkpoints", "kept") > 1
    async with open_checkpointer(db) as saver:  # opened by spri: compacted by default
        await arun("Q?", model=model(), checkpointer=saver, thread_id="compacted")
    assert rows(db, "checkpoints", "compacted") == 1


async def test_deleting_a_thread_removes_it_and_refuses_a_running_one(db):
    await arun("Q?", model=model(), checkpointer=db, thread_id="t")
    await arun("Q?", model=model(), checkpointer=db, thread_id="busy")
    assert await delete_thread("t", db) is True
    assert await load_thread("t", db) is None and rows(db, "writes", "t") == 0
    assert await delete_thread("t", db) is False  # nothing left to delete
    async with open_checkpointer(db) as saver, thread_lease(saver, "busy"):
        with pytest.raises(ThreadBusy):
            await delete_thread("busy", db)
    assert await load_thread("busy", db) is not None


@pytest.mark.parametrize("where", ["sqlite", "memory"])
async def test_pruning_deletes_idle_threads_and_never_a_running_one(where, db):
    async with open_checkpointer(db if where == "sqlite" else "memory") as saver:
        for thread in ("old", "busy", "paused"):
            await arun("Q?", model=model(), checkpointer=saver, thread_id=thread, review_principles=thread == "paused")
        soon = datetime.now(UTC) + timedelta(hours=1)
        assert (await prune_threads("2h", saver, now=soon)).deleted == []  # none idle for two hours yet
        async with thread_lease(saver, "busy"):
            pruned = await prune_threads(timedelta(minutes=30), saver, now=soon)
        assert pruned.deleted == ["old", "paused"] and pruned.busy == ["busy"]
        assert await load_thread("old", saver) is None and await load_thread("busy", saver) is not None


def test_durations_take_a_unit_and_name_the_forms():
    assert parse_duration("30d") == timedelta(days=30) and parse_duration("90m") == timedelta(minutes=90)
    assert parse_duration("1.5h") == timedelta(minutes=90) and parse_duration("45") == timedelta(seconds=45)
    assert parse_duration("2w") == timedelta(weeks=2)
    for bad in ("", "0d", "ten days", "5y", "-1h"):
        with pytest.raises(StorageError, match=r"e\.g\. 90m, 12h, 30d"):
            parse_duration(bad)


def test_checkpoint_ids_made_before_a_moment_sort_below_its_bound():
    before = [str(uuid6(clock_seq=step)) for step in (-2, 0, 7)]
    bound = uuid6_at(datetime.now(UTC))
    after = str(uuid6(clock_seq=-1))
    assert all(made < bound for made in before) and bound < after
    assert uuid6_at(datetime.now(UTC) - timedelta(days=1)) < min(before)
