"""Continuing threads: what is saved with them so a later call (in another process or directory) can."""

from __future__ import annotations

import pytest

from spri import SpriError, arun, load_thread
from tests.support.fakes import critique, scripted

PROFILE = """
name: tiny
fields:
  - {name: query, label: Question, required: true}
principles:
  system: "Write principles."
  draft: "{{ input }}"
  refine: "Feedback: {{ feedback }}"
  critic: "You review principles. {{ scale }}"
  judge: "{{ input }} {{ draft }}"
  scale: [a, b, c, d, e]
response:
  system: "Answer."
  draft: "{{ input }} {{ principles }}"
  refine: "Feedback: {{ feedback }}"
  critic: "You review answers. {{ scale }}"
  judge: "{{ input }} {{ draft }}"
  scale: [a, b, c, d, e]
"""


def model():
    return scripted("P1", critique(5), "R1", critique(5))


async def test_a_model_object_that_cannot_be_saved_must_be_passed_again(db):
    m = model()
    await arun("Q?", model=m, review_principles=True, checkpointer=db, thread_id="t")
    with pytest.raises(
        SpriError, match=r"model object \(ScriptedChatModel:scripted\) that cannot be saved: pass model="
    ):
        await arun(None, checkpointer=db, thread_id="t", resume="approve")
    done = await arun(None, model=m, checkpointer=db, thread_id="t", resume="approve")
    assert done.response == "R1"


async def test_a_relative_profile_path_is_saved_absolute_and_checked_for_changes(db, tmp_path, monkeypatch):
    here, elsewhere = tmp_path / "here", tmp_path / "elsewhere"
    here.mkdir()
    elsewhere.mkdir()
    (here / "tiny.yaml").write_text(PROFILE)
    monkeypatch.chdir(here)
    m = model()
    paused = await arun("Q?", model=m, profile="tiny.yaml", review_principles=True, checkpointer=db, thread_id="p")
    assert paused.status == "interrupted"
    settings = (await load_thread("p", db)).settings
    assert settings["profile"] == str(here / "tiny.yaml") and len(settings["profile_sha256"]) == 64

    monkeypatch.chdir(elsewhere)
    (here / "tiny.yaml").write_text(PROFILE.replace("Answer.", "Answer briefly."))
    with pytest.warns(UserWarning, match=r"profile file .*tiny.yaml changed since thread 'p' ran"):
        done = await arun(None, model=m, checkpointer=db, thread_id="p", resume="approve")
    assert done.response == "R1"


async def test_silent_seed_fallbacks_are_warned_about():
    with pytest.warns(UserWarning, match=r"no seed example has category 'typo'"):
        await arun("Q?", model=model(), seed_policy="category", category="typo")
    with pytest.warns(UserWarning, match=r"seed_policy 'category' without a category: all \d+ seed examples"):
        await arun("Q?", model=model(), seed_policy="category")
