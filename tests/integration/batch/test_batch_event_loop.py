"""`spri batch` runs on uvloop's event loop where uvloop is installed (spri.cli.event_loop), asyncio's
own otherwise or with SPRI_UVLOOP=0, with the same output either way."""

from __future__ import annotations

import asyncio
import json

import pytest

from spri.cli import event_loop, main
from tests.support.batch import make_input
from tests.support.openai_server import OpenAIServer
from tests.support.policies import accepting

uvloop = pytest.importorskip("uvloop")


@pytest.fixture
def loops(monkeypatch):
    """The class of the event loop each `spri batch` in this test ran on."""
    seen = []
    run = event_loop.run

    async def noting(main):
        seen.append(type(asyncio.get_running_loop()))
        return await main

    monkeypatch.setattr(event_loop, "run", lambda main: run(noting(main)))
    return seen


def records(path):
    return sorted((row["id"], row["response"], row["calls"]) for row in map(json.loads, path.read_text().splitlines()))


def test_the_batch_runs_on_uvloop_and_writes_what_asyncio_does(monkeypatch, tmp_path, loops, capsys):
    source = make_input(tmp_path / "in.jsonl", 6)
    with OpenAIServer(accepting()) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "test-key")
        for name, setting in (("uv.jsonl", "1"), ("asyncio.jsonl", "0")):
            monkeypatch.setenv("SPRI_UVLOOP", setting)
            argv = ["batch", source, "-o", str(tmp_path / name), "--model", "openai:fake", "--quiet"]
            assert main([*argv, "--concurrency", "3"]) == 0
    assert loops == [uvloop.Loop, asyncio.new_event_loop().__class__]
    assert records(tmp_path / "uv.jsonl") == records(tmp_path / "asyncio.jsonl")
    assert len(records(tmp_path / "uv.jsonl")) == 6


def test_the_loop_factory(monkeypatch):
    monkeypatch.delenv("SPRI_UVLOOP", raising=False)
    assert event_loop.loop_factory() is uvloop.new_event_loop
    assert event_loop.run(asyncio.sleep(0, "done")) == "done"
    monkeypatch.setenv("SPRI_UVLOOP", "off")
    assert event_loop.loop_factory() is None
    monkeypatch.setenv("SPRI_UVLOOP", "1")
    monkeypatch.setitem(__import__("sys").modules, "uvloop", None)  # not installed
    assert event_loop.loop_factory() is None
