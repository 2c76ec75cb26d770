"""Runs that stop part-way (paused for review, failed) report the calls and tokens they spent so far: in
the result, in the thread read back, and in `spri show --json`."""

from __future__ import annotations

import asyncio
import json

import pytest

from spri import arun, load_thread
from spri.cli import main
from tests.support.fakes import critique, is_critic_prompt, scripted


def failing_in_stage_two():
    """Drafts principles (accepted at once), then fails on the response draft."""

    def reply(messages):
        if is_critic_prompt(messages):
            return critique(5)
        if "guiding principles" in messages[0].text:
            return "1. Be brief."
        raise RuntimeError("the endpoint went away")

    return scripted(default=reply)


async def test_a_paused_run_reports_what_it_spent_so_far(db):
    paused = await arun("Q?", model=scripted("P1", critique(5)), review_principles=True, checkpointer=db)
    assert paused.status == "interrupted" and paused.calls == 2
    assert paused.calls_per_stage == {"principles": 2} and paused.calls_per_role == {"base": 1, "critic": 1}
    assert paused.tokens["output"] > 0 and paused.tokens["total"] == paused.tokens["input"] + paused.tokens["output"]
    thread = await load_thread(paused.thread_id, db)
    assert thread is not None and thread.result.calls == 2 and thread.result.tokens == paused.tokens


def test_show_json_of_a_failed_run_reports_the_calls_and_tokens_it_made(db, capsys):
    with pytest.raises(RuntimeError):
        asyncio.run(arun("Q?", model=failing_in_stage_two(), checkpointer=db, thread_id="failed"))
    assert main(["show", "failed", "--db", db, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["status"] == "incomplete" and shown["next_steps"] == ["draft_response"]
    assert shown["calls"] == 2 and shown["calls_per_stage"] == {"principles": 2}
    assert shown["tokens"]["total"] > 0 and shown["tokens_per_stage"]["principles"] == shown["tokens"]
