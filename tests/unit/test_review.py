"""Human review of the principles: pause with interrupt(), resume with the human's decision."""

from __future__ import annotations

import pytest

from spri import SpriError, arun
from spri.nodes.review import read_decision
from tests.support.fakes import critique, scripted


def model():
    return scripted("P1", critique(5), "R1", critique(5))


async def test_pause_then_approve(db):
    m = model()
    paused = await arun("Q?", model=m, review_principles=True, checkpointer=db, thread_id="t")
    assert paused.status == "interrupted" and paused.response is None
    assert paused.interrupt["principles"] == "P1" and paused.interrupt["score"] == 5
    assert len(m.calls) == 2
    # asking again without a decision reports the same pause and runs nothing
    again = await arun(None, model=m, checkpointer=db, thread_id="t")
    assert again.status == "interrupted" and len(m.calls) == 2
    done = await arun(None, model=m, checkpointer=db, thread_id="t", resume="approve")
    assert (done.status, done.review, done.principles, done.response) == ("done", "approved", "P1", "R1")
    assert done.calls == 4


async def test_edit_replaces_the_principles_the_response_follows(db):
    m = model()
    await arun("Q?", model=m, review_principles=True, checkpointer=db, thread_id="t")
    done = await arun(
        None, model=m, checkpointer=db, thread_id="t", resume={"action": "edit", "principles": "Be brief."}
    )
    assert done.principles == "Be brief." and done.review == "edited"
    assert done.drafts["principles"] == ["P1", "Be brief."]
    assert "Be brief." in m.calls[2][1].text and "P1" not in m.calls[2][1].text


async def test_review_needs_a_checkpointer():
    with pytest.raises(SpriError, match="needs a checkpointer"):
        await arun("Q?", model=model(), review_principles=True)


@pytest.mark.parametrize(
    "decision,edited",
    [
        (True, None),
        ("approve", None),
        ({"action": "approve"}, None),
        ("New text", "New text"),
        ({"action": "edit", "principles": " X "}, "X"),
    ],
)
def test_decisions(decision, edited):
    assert read_decision(decision) == edited


@pytest.mark.parametrize("decision", [None, 3, {"action": "edit"}, {"action": "edit", "principles": ""}, "  "])
def test_unreadable_decisions_are_explained(decision):
    with pytest.raises(SpriError, match="review decision not understood"):
        read_decision(decision)
