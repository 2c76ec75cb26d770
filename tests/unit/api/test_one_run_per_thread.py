"""One run per thread in one process too: two concurrent runs on a thread (one saver object, or one SQLite
file opened twice) give the second ThreadBusy before any model call; a lease is released however the
run ends. Across processes: tests/integration/storage/test_one_run_per_thread.py."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from spri import arun
from spri.api import ThreadBusy
from tests.support.fakes import critique, scripted


def slow_script(gate: threading.Event) -> object:
    def principles(messages: object) -> str:
        gate.wait(10)
        return "P1"

    return scripted(principles, critique(5), "R1", critique(5))


@pytest.mark.parametrize("kind", ["saver object", "sqlite file"])
async def test_a_second_concurrent_run_on_a_thread_is_refused(tmp_path, kind):
    checkpointer = InMemorySaver() if kind == "saver object" else str(tmp_path / "runs.sqlite")
    gate = threading.Event()
    first_model, second_model = slow_script(gate), scripted("never", default="never")
    first = asyncio.create_task(arun("Q?", model=first_model, checkpointer=checkpointer, thread_id="t1"))
    while not first_model.calls:
        await asyncio.sleep(0.01)
    with pytest.raises(ThreadBusy, match="thread 't1' is busy"):
        await arun("Other?", model=second_model, checkpointer=checkpointer, thread_id="t1")
    other = await arun(
        "Elsewhere?", model=scripted("P", critique(5), "R", critique(5)), checkpointer=checkpointer, thread_id="t2"
    )  # another thread is free
    gate.set()
    done = await first
    assert done.calls == 4 and second_model.calls == [] and other.status == "done"
    again = await arun(
        "Again?", model=scripted("P", critique(5), "R", critique(5)), checkpointer=checkpointer, thread_id="t1"
    )
    assert again.status == "done"


async def test_a_run_that_fails_releases_its_thread(tmp_path):
    db = str(tmp_path / "runs.sqlite")
    with pytest.raises(RuntimeError, match="model down"):
        await arun("Q?", model=scripted(RuntimeError("model down")), checkpointer=db, thread_id="t1")
    done = await arun(None, model=scripted("P1", critique(5), "R1", critique(5)), checkpointer=db, thread_id="t1")
    assert done.status == "done"


async def test_a_cancelled_run_releases_its_thread(tmp_path):
    db = str(tmp_path / "runs.sqlite")
    gate = threading.Event()
    model = slow_script(gate)
    run = asyncio.create_task(arun("Q?", model=model, checkpointer=db, thread_id="t1"))
    while not model.calls:
        await asyncio.sleep(0.01)
    run.cancel()
    gate.set()
    with pytest.raises(asyncio.CancelledError):
        await run
    started = time.monotonic()
    done = await arun(None, model=scripted("P1", critique(5), "R1", critique(5)), checkpointer=db, thread_id="t1")
    assert done.status == "done" and time.monotonic() - started < 30
