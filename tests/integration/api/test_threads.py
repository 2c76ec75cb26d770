"""Continuing a thread in a later call without passing its model again: a ChatOpenAI object is saved as
a spec with its own base URL (never a key) and rebuilt."""

from __future__ import annotations

import json

from langchain_openai import ChatOpenAI

from spri import arun, load_thread
from tests.support.openai_server import OpenAIServer
from tests.support.policies import deterministic


async def test_a_chatopenai_thread_continues_without_the_model_object(db, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")  # wrong on purpose: the object's URL counts
    with OpenAIServer(deterministic) as server:
        model = ChatOpenAI(model="fake", base_url=server.base_url, api_key="test-key", max_retries=0)
        paused = await arun("Q?", model=model, review_principles=True, checkpointer=db, thread_id="obj")
        assert paused.status == "interrupted"
        done = await arun(None, checkpointer=db, thread_id="obj", resume="approve")
        assert done.status == "done" and done.response == "revised response text"
        assert len(server.requests) == done.calls
    settings = (await load_thread("obj", db)).settings
    assert (settings["model"], settings["model_base_url"]) == ("openai:fake", server.base_url)
    assert "test-key" not in json.dumps(settings)
