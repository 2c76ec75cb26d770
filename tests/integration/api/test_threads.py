"""Continuing a thread in a later call without passing its model again: a ChatOpenAI object is saved as
a spec with its own base URL (never a key, never the URL's password) and rebuilt; no credential reaches
a LangSmith trace."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from langchain_openai import ChatOpenAI

from spri import SpriError, arun, load_thread
from tests.support import ROOT
from tests.support.langsmith_recorder import LangSmithRecorder, base_env
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


async def test_a_base_url_with_credentials_is_saved_without_them(db, monkeypatch):
    """The settings ride in checkpoint and trace metadata: the URL's password is masked there, and the
    thread continues with the whole URL from OPENAI_BASE_URL when that is the same endpoint."""
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    with OpenAIServer(deterministic) as server:
        with_password = server.base_url.replace("http://", f"http://proxyuser:{PASSWORD}@")
        model = ChatOpenAI(model="fake", base_url=with_password, api_key="test-key", max_retries=0)
        paused = await arun("Q?", model=model, review_principles=True, checkpointer=db, thread_id="creds")
        settings = (await load_thread("creds", db)).settings
        assert settings["model_base_url"] == with_password.replace(PASSWORD, "***")
        monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")  # another endpoint: say what to do
        with pytest.raises(SpriError, match=r"credentials are not saved .*proxyuser:\*\*\*@.* pass model=\.\.\. again"):
            await arun(None, checkpointer=db, thread_id="creds", resume="approve")
        monkeypatch.setenv("OPENAI_BASE_URL", with_password)
        done = await arun(None, checkpointer=db, thread_id="creds", resume="approve")
    assert paused.status == "interrupted" and done.status == "done"
    assert PASSWORD not in Path(db).read_bytes().decode("latin-1")


PASSWORD = "trace-pass-0123456789"
TRACED = textwrap.dedent(
    """
    import asyncio, os
    from langchain_core.tracers.langchain import wait_for_all_tracers
    from spri import arun
    from spri.api import endpoint_pool

    model = endpoint_pool("openai:fake", [os.environ["MODEL_URL"]])  # what spri batch --base-url builds
    result = asyncio.run(arun("Q?", model=model, checkpointer=os.environ["DB"]))
    assert result.status == "done", result
    wait_for_all_tracers()
    """
)


def test_no_credential_reaches_a_trace(tmp_path):
    with OpenAIServer(deterministic) as server, LangSmithRecorder() as recorder:
        env = base_env(recorder.url)
        env.update(
            OPENAI_API_KEY="k",
            LANGSMITH_TRACING="true",
            MODEL_URL=server.base_url.replace("http://", f"http://tracer:{PASSWORD}@"),
            DB=str(tmp_path / "runs.sqlite"),
        )
        done = subprocess.run(
            [sys.executable, "-c", TRACED], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        runs = json.dumps(recorder.runs)
    assert "tracer:***@127.0.0.1" in runs  # the settings are traced, the password is not
    assert PASSWORD not in runs
