"""What the server keeps: a finished thread compacted to its last checkpoint, `DELETE /spri/threads/{id}`
(a key deletes only its own threads, never one a run is using), and `--thread-ttl` sweeping idle ones."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from typing import Any

import httpx

from spri.api import open_checkpointer
from spri.storage import thread_lease
from tests.support.openai_server import OpenAIServer
from tests.support.policies import deterministic
from tests.support.serving import serving

KEYS = {"alice": "alice-key-0000000001", "bob": "bob-key-00000000002"}


def as_key(name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {KEYS[name]}"}


def invoke(url: str, who: str, thread: str) -> httpx.Response:
    body = {"input": {"query": f"{who}'s question?"}, "config": {"configurable": {"thread_id": thread}}}
    return httpx.post(url + "/spri/invoke", json=body, headers=as_key(who), timeout=120)


def checkpoints(db: str, thread: str) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT count(*) FROM checkpoints WHERE thread_id = ?", (thread,)).fetchone()[0]


def while_held(db: str, thread: str, action: Callable[[], Any]) -> Any:
    """``action()`` while this process holds ``thread``'s lease, as a run in another worker would."""

    async def held() -> Any:
        async with open_checkpointer(db) as saver, thread_lease(saver, thread):
            return await asyncio.to_thread(action)

    return asyncio.run(held())


def test_a_key_deletes_only_its_own_threads_and_never_a_running_one(tmp_path):
    db = str(tmp_path / "server.sqlite")
    keys = " ".join(f"{name}:{key}" for name, key in KEYS.items())
    with (
        OpenAIServer(deterministic) as model,
        serving(tmp_path, OPENAI_BASE_URL=model.base_url, SPRI_API_KEYS=keys, SPRI_SERVE_DB=db) as server,
    ):
        url = server.url
        for thread in ("plan", "busy"):
            assert invoke(url, "alice", thread).json()["output"]["status"] == "done"
        assert checkpoints(db, "alice:plan") == 1  # finished: only the last checkpoint is kept

        for thread in ("plan", "alice:plan"):  # bob cannot delete it, whatever id he sends
            refused = httpx.delete(f"{url}/spri/threads/{thread}", headers=as_key("bob"))
            assert refused.status_code == 404 and refused.json()["error"] == "thread_not_found"
        assert httpx.delete(url + "/spri/threads/plan").status_code == 401

        running = while_held(
            db, "alice:busy", lambda: httpx.delete(url + "/spri/threads/busy", headers=as_key("alice"))
        )
        assert running.status_code == 409 and running.json()["error"] == "thread_busy"
        assert httpx.get(url + "/spri/threads/busy", headers=as_key("alice")).status_code == 200

        deleted = httpx.delete(url + "/spri/threads/plan", headers=as_key("alice"))
        assert deleted.status_code == 200 and deleted.json() == {"thread_id": "plan", "deleted": True}
        assert httpx.get(url + "/spri/threads/plan", headers=as_key("alice")).status_code == 404
        assert httpx.delete(url + "/spri/threads/plan", headers=as_key("alice")).status_code == 404
        assert checkpoints(db, "alice:plan") == 0


def test_thread_ttl_sweeps_idle_threads_but_not_a_running_one(tmp_path):
    db = str(tmp_path / "server.sqlite")
    with (
        OpenAIServer(deterministic) as model,
        serving(tmp_path, "--thread-ttl", "2s", OPENAI_BASE_URL=model.base_url, SPRI_SERVE_DB=db) as server,
    ):
        for thread in ("idle", "held"):
            body = {"input": {"query": "Q?"}, "config": {"configurable": {"thread_id": thread}}}
            assert httpx.post(server.url + "/spri/invoke", json=body, timeout=120).status_code == 200

        def after_the_ttl() -> None:
            deadline = time.monotonic() + 30
            while checkpoints(db, "idle") and time.monotonic() < deadline:
                time.sleep(0.2)
            time.sleep(2.5)  # more sweeps, all while "held" is held

        while_held(db, "held", after_the_ttl)
        assert httpx.get(server.url + "/spri/threads/idle", timeout=30).status_code == 404
        assert checkpoints(db, "held") == 1
        server.wait_for_log("deleted 1 thread(s) idle for more than")
