"""Whose threads a client sees: with named keys (SPRI_API_KEYS) each key reads and resumes only its own
threads; and `spri serve` keeps its threads in its own database, apart from the CLI's."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.openai_server import OpenAIServer
from tests.support.policies import deterministic
from tests.support.processes import cli_env, spri_cli
from tests.support.serving import serving

KEYS = {"alice": "alice-key-0000000001", "bob": "bob-key-00000000002"}


def as_key(name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {KEYS[name]}"}


def invoke(url: str, who: str, input: dict[str, Any], thread: str, **options: Any) -> httpx.Response:
    body = {"input": input, "config": {"configurable": {"thread_id": thread, **options}}}
    return httpx.post(url + "/spri/invoke", json=body, headers=as_key(who), timeout=120)


def test_a_named_key_sees_and_resumes_only_its_own_threads(tmp_path):
    keys = " ".join(f"{name}:{key}" for name, key in KEYS.items())
    with (
        OpenAIServer(deterministic) as model,
        serving(tmp_path, OPENAI_BASE_URL=model.base_url, SPRI_API_KEYS=keys) as server,
    ):
        url = server.url
        paused = invoke(url, "alice", {"query": "Alice's question?"}, "plan", review_principles=True)
        assert paused.json()["output"]["status"] == "interrupted" and paused.json()["output"]["thread_id"] == "plan"
        assert httpx.get(url + "/spri/threads/plan", headers=as_key("alice")).json()["result"]["thread_id"] == "plan"

        for thread in ("plan", "alice:plan"):  # bob cannot read it, whatever id he sends
            assert httpx.get(f"{url}/spri/threads/{thread}", headers=as_key("bob")).status_code == 404
            taken = invoke(url, "bob", {"resume": "approve"}, thread)
            assert taken.status_code == 404 and taken.json()["error"] == "thread_not_found"
            assert invoke(url, "bob", {}, thread).status_code == 404

        own = invoke(url, "bob", {"query": "Bob's question?"}, "plan")  # bob's own thread of the same name
        assert own.status_code == 200 and own.json()["output"]["status"] == "done"
        bobs = httpx.get(url + "/spri/threads/plan", headers=as_key("bob")).json()
        assert bobs["input"]["query"] == "Bob's question?"

        alices = httpx.get(url + "/spri/threads/plan", headers=as_key("alice")).json()
        assert alices["input"]["query"] == "Alice's question?" and alices["result"]["status"] == "interrupted"
        done = invoke(url, "alice", {"resume": "approve"}, "plan")
        assert done.json()["output"]["status"] == "done" and done.json()["output"]["review"] == "approved"
        assert httpx.get(url + "/spri/threads/plan").status_code == 401  # and no key sees nothing


def test_the_server_has_its_own_database_not_the_clis(tmp_path):
    env = cli_env(tmp_path, OPENAI_API_KEY="k", SPRI_MAX_RETRIES="0")
    with OpenAIServer(deterministic) as model:
        env["OPENAI_BASE_URL"] = model.base_url
        asked = spri_cli("ask", "CLI question?", "--model", "openai:fake", "--thread", "t-cli", env=env)
        assert asked.returncode == 0, asked.stderr
        cli_db = tmp_path / "data" / "spri" / "checkpoints.sqlite"
        assert cli_db.exists()
        with serving(tmp_path, OPENAI_BASE_URL=model.base_url, SPRI_SERVE_DB="", SPRI_DB=str(cli_db)) as server:
            assert httpx.get(server.url + "/spri/threads/t-cli", timeout=30).status_code == 404
            served = httpx.post(
                server.url + "/spri/invoke",
                json={"input": {"query": "Q?"}},
                headers={"X-Thread-Id": "t-srv"},
                timeout=120,
            )
            assert served.status_code == 200
    assert (tmp_path / "data" / "spri" / "serve.sqlite").exists()
    shown = spri_cli("show", "t-srv", env=env)
    assert shown.returncode != 0  # the server's thread is not in the CLI's database either
