"""`spri threads prune` and `spri threads delete` on the CLI's database, another one and the server's:
idle threads go, a thread another process is running stays (and is named)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from langgraph.checkpoint.base import empty_checkpoint

from spri import arun
from spri.api import open_checkpointer
from spri.storage import thread_lease
from spri.storage.retention import uuid6_at
from tests.support.fakes import critique, scripted
from tests.support.processes import one_line_error, spri_cli


def finished_threads(db: str, *threads: str) -> None:
    async def run_all() -> None:
        for thread in threads:
            await arun("Q?", model=scripted("P", critique(5), "R", critique(5)), checkpointer=db, thread_id=thread)

    asyncio.run(run_all())


def idle_threads(db: str, days: int, *threads: str) -> None:
    """Threads whose last checkpoint was written ``days`` ago."""
    written = datetime.now(UTC) - timedelta(days=days)

    async def put_all() -> None:
        async with open_checkpointer(db) as saver:
            for thread in threads:
                checkpoint = {**empty_checkpoint(), "id": uuid6_at(written), "ts": written.isoformat()}
                await saver.aput({"configurable": {"thread_id": thread, "checkpoint_ns": ""}}, checkpoint, {}, {})

    asyncio.run(put_all())


def exists(db: str, thread: str) -> bool:
    async def latest() -> object:
        async with open_checkpointer(db) as saver:
            return await saver.aget_tuple({"configurable": {"thread_id": thread, "checkpoint_ns": ""}})

    return asyncio.run(latest()) is not None


def test_prune_deletes_idle_threads_and_leaves_a_running_one(env, tmp_path):
    db = str(tmp_path / "runs.sqlite")
    idle_threads(db, 40, "a", "b", "running")
    finished_threads(db, "fresh")

    async def prune_while_running() -> str:
        async with open_checkpointer(db) as saver, thread_lease(saver, "running"):  # another run holds it
            done = await asyncio.to_thread(spri_cli, "threads", "prune", "--older-than", "30d", "--db", db, env=env)
        assert done.returncode == 0, done.stderr
        return done.stdout

    out = asyncio.run(prune_while_running())
    assert "deleted 2 thread(s) idle for more than 30d" in out and "a run is using: running" in out
    assert [exists(db, t) for t in ("a", "b", "running", "fresh")] == [False, False, True, True]


def test_the_servers_database_and_a_bad_duration(env, tmp_path):
    served = str(tmp_path / "serve.sqlite")
    finished_threads(served, "s1")
    env = {**env, "SPRI_SERVE_DB": served}
    done = spri_cli("threads", "delete", "s1", "--server", env=env)
    assert done.returncode == 0 and "deleted thread s1" in done.stdout, done.stderr
    assert not exists(served, "s1")
    one_line_error(spri_cli("threads", "delete", "s1", "--server", env=env), "no thread 's1'")
    one_line_error(spri_cli("threads", "prune", "--older-than", "soon", env=env), "--older-than must be")
