"""Human review of the principles: pause with interrupt(), resume with the human's decision."""

from __future__ import annotations

import pytest
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from spri import Context, SpriError, arun, build_graph
from spri.nodes.review import Decision, read_decision
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


def edit(text: str) -> dict:
    return {
        "decisions": [{"type": "edit", "edited_action": {"name": "review_principles", "args": {"principles": text}}}]
    }


@pytest.mark.parametrize(
    "decision,expected",
    [
        ({"decisions": [{"type": "approve"}]}, Decision("approve")),
        (edit(" X "), Decision("edit", "X")),
        (True, Decision("approve")),
        ("approve", Decision("approve")),
        ({"action": "approve"}, Decision("approve")),
        ({"action": "edit", "principles": " X "}, Decision("edit", "X")),
        ({"decisions": [{"type": "reject", "message": " Too vague. "}]}, Decision("reject", message="Too vague.")),
        ({"decisions": [{"type": "reject"}]}, Decision("reject")),
        ({"action": "reject", "message": "No."}, Decision("reject", message="No.")),
    ],
)
def test_decisions(decision, expected):
    assert read_decision(decision) == expected


@pytest.mark.parametrize(
    "decision",
    [
        None,
        3,
        "  ",
        "yes",  # a loose word is not a decision (it used to become the new principles)
        "New text",
        {"action": "edit"},
        {"action": "edit", "principles": ""},
        {"action": "typo"},
        {"decisions": []},
        {"decisions": [{"type": "approve"}, {"type": "approve"}]},
        {"decisions": [{"type": "maybe"}]},
        {"decisions": [{"type": "edit", "edited_action": {"name": "review_principles", "args": {}}}]},
    ],
)
def test_anything_but_an_explicit_decision_is_refused_with_what_to_send(decision):
    with pytest.raises(SpriError, match=r"review answer|review decision|an edit needs"):
        read_decision(decision)


async def test_the_pause_speaks_the_human_in_the_loop_format(db):
    paused = await arun("Q?", model=model(), review_principles=True, checkpointer=db, thread_id="t")
    request = paused.interrupt
    assert request["action_requests"] == [
        {
            "name": "review_principles",
            "args": {"principles": "P1"},
            "description": "Review the principles the response will follow. The critic scored them 5/5: Looks fine.",
        }
    ]
    assert request["review_configs"] == [
        {"action_name": "review_principles", "allowed_decisions": ["approve", "edit", "reject"]}
    ]


async def test_a_human_in_the_loop_edit_is_followed(db):
    m = model()
    await arun("Q?", model=m, review_principles=True, checkpointer=db, thread_id="t")
    done = await arun(None, model=m, checkpointer=db, thread_id="t", resume=edit("Be kind."))
    assert (done.principles, done.review, done.response) == ("Be kind.", "edited", "R1")


@pytest.mark.parametrize("bad", [{"action": "typo"}, "yes"])
async def test_a_bad_answer_is_refused_before_it_is_stored_and_the_thread_stays_paused(db, bad):
    m = model()
    await arun("Q?", model=m, review_principles=True, checkpointer=db, thread_id="t")
    with pytest.raises(SpriError, match="review answer not understood"):
        await arun(None, model=m, checkpointer=db, thread_id="t", resume=bad)
    still = await arun(None, model=m, checkpointer=db, thread_id="t")
    assert still.status == "interrupted" and len(m.calls) == 2
    done = await arun(None, model=m, checkpointer=db, thread_id="t", resume="approve")
    assert (done.status, done.review, done.response) == ("done", "approved", "R1")


async def test_an_answer_to_a_thread_that_is_not_paused_is_refused(db):
    m = model()
    await arun("Q?", model=m, checkpointer=db, thread_id="t")
    done = await arun(None, model=m, checkpointer=db, thread_id="t", resume="approve")
    assert done.status == "done" and len(m.calls) == 4  # finished: the answer changes nothing


async def test_a_rejection_refines_once_with_the_note_then_asks_again(db):
    m = scripted("P1", critique(5), "P2", "R1", critique(5))
    await arun("Q?", model=m, review_principles=True, checkpointer=db, thread_id="t")
    reject = {"decisions": [{"type": "reject", "message": "Say who to ask for help."}]}
    again = await arun(None, model=m, checkpointer=db, thread_id="t", resume=reject)
    assert again.status == "interrupted" and len(m.calls) == 3  # one refinement, no critic call
    refine_prompt = m.calls[2][-1].text
    assert "Say who to ask for help." in refine_prompt and "Looks fine." not in refine_prompt
    request = again.interrupt
    assert request["action_requests"][0]["args"] == {"principles": "P2"}
    assert request["score"] is None  # the reviewer's refinement was not judged
    done = await arun(None, model=m, checkpointer=db, thread_id="t", resume="approve")
    assert (done.principles, done.review, done.response, done.calls) == ("P2", "approved", "R1", 5)
    assert done.drafts["principles"] == ["P1", "P2"] and done.rounds["principles"] == 1


async def test_a_rejection_without_a_message_still_asks_for_better_principles(db):
    m = scripted("P1", critique(5), "P2", "R1", critique(5))
    await arun("Q?", model=m, review_principles=True, checkpointer=db, thread_id="t")
    await arun(None, model=m, checkpointer=db, thread_id="t", resume={"action": "reject"})
    assert "rejected these principles" in m.calls[2][-1].text


async def test_the_graph_itself_asks_again_after_a_malformed_answer_and_stays_resumable():
    """Driven as LangGraph's server drives it (no spri.api refusing the answer first): LangGraph keeps each
    answer a node reads, so the node must not fail on a bad one or every later resume would read it again."""
    m = model()
    graph = build_graph(InMemorySaver())
    config: RunnableConfig = {"configurable": {"thread_id": "t"}}
    context = Context(model=m, review_principles=True)
    await graph.ainvoke({"query": "Q?"}, config, context=context)
    for bad in ({"decisions": [{"type": "typo"}]}, "yes"):
        await graph.ainvoke(Command(resume=bad), config, context=context)
        state = await graph.aget_state(config)
        (pending,) = state.interrupts
        assert state.next == ("review_principles",) and repr(bad) in pending.value["refused"]
        assert pending.value["action_requests"][0]["args"] == {"principles": "P1"} and len(m.calls) == 2
    done = await graph.ainvoke(Command(resume={"decisions": [{"type": "approve"}]}), config, context=context)
    assert (done["review"], done["response"], len(m.calls)) == ("approved", "R1", 4)
