"""Speculative stage-2 drafting (``speculate``): the same results as without it on deterministic models,
one model latency less when the principles are accepted, and every discarded speculation counted."""

from __future__ import annotations

import asyncio
import copy
import re
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import Field

from spri import Context, Output, Result, Token, Update, arun, astream, build_graph
from tests.support.fakes import RUN_REFINING_EACH_STAGE_ONCE, critique, is_critic_prompt

QUERY = "How do I learn to swim as an adult?"
SPECULATIVE = "spri:speculative"
Answer = Callable[[list[BaseMessage], list[str]], Awaitable[str]]


class PromptedModel(BaseChatModel):
    """An async model whose reply is a function of the prompt (so it is deterministic however calls
    interleave), with word-count token usage; it logs each call's tags and reply, or that it was cancelled."""

    answer: Any
    name_: str = "prompted"
    log: list[tuple[str, list[str], str]] = Field(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "prompted"

    @property
    def model_name(self) -> str:
        return self.name_

    def _generate(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kw: Any) -> Any:
        raise NotImplementedError("async only")

    async def _agenerate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kw: Any
    ) -> ChatResult:
        tags = list(getattr(run_manager, "tags", None) or [])
        try:
            text = await self.answer(messages, tags)
        except asyncio.CancelledError:
            self.log.append(("cancelled", tags, ""))
            raise
        self.log.append(("done", tags, text))
        words_in = sum(len(m.text.split()) for m in messages)
        usage = {"input_tokens": words_in, "output_tokens": len(text.split())}
        message = AIMessage(content=text, usage_metadata={**usage, "total_tokens": sum(usage.values())})
        return ChatResult(generations=[ChatGeneration(message=message)])

    def speculative(self, status: str = "done") -> list[str]:
        return [text for state, tags, text in self.log if state == status and SPECULATIVE in tags]


def next_draft(messages: Sequence[BaseMessage], prefix: str) -> int:
    """The number of the draft a prompt asks for: one more than the drafts it shows (a refinement's
    prompt holds the draft it revises)."""
    shown = [int(n) for m in messages if m.type == "ai" for n in re.findall(prefix + r"(\d+)", m.text)]
    return 1 + max(shown, default=0)


def policy(principles: Sequence[int | None], response: Sequence[int | None]) -> Callable[[list[BaseMessage]], str]:
    """Principles drafts "P1", "P2", ...; response drafts name the principles they follow ("R1 for P2"); the
    critic gives the n-th draft of a stage the n-th score (None: an unreadable critique)."""

    def reply(messages: list[BaseMessage]) -> str:
        if is_critic_prompt(messages):
            judged = messages[1].text.split("under review:")[-1].strip()
            scores = principles if "Principles under review" in messages[1].text else response
            score = scores[int(judged[1:].split()[0]) - 1]
            return critique(score) if score is not None else "I like it."
        if "guiding principles" in messages[0].text:
            return f"P{next_draft(messages, 'P')}"
        follows = re.findall(r"P\d+", messages[1].text) or ["no principles"]
        return f"R{next_draft(messages, 'R')} for {follows[-1]}"

    return reply


DRAFT_NAME = re.compile(r"P\d+|Rubric \d+")


class Gate:
    """Holds each principles critique until the speculation from the same draft has reached the model,
    so a speculation is always under way when the critic may call it off (the order a real endpoint
    gives: a critique takes a round trip; starting a speculation does not)."""

    def __init__(self) -> None:
        self.started: dict[str, asyncio.Event] = defaultdict(asyncio.Event)

    async def pass_(self, messages: list[BaseMessage], tags: list[str]) -> None:
        if SPECULATIVE in tags:
            self.started[DRAFT_NAME.findall(messages[1].text)[-1]].set()
        elif is_critic_prompt(messages) and "Principles under review" not in messages[1].text:
            return
        elif is_critic_prompt(messages):
            await self.started[DRAFT_NAME.findall(messages[1].text.split("under review:")[-1])[-1]].wait()


def model(reply: Callable[[list[BaseMessage]], str], name: str = "prompted", gate: Gate | None = None) -> PromptedModel:
    """A model answering with ``reply``; with a ``gate``, principles critiques wait for the speculation."""

    async def answer(messages: list[BaseMessage], tags: list[str]) -> str:
        if gate is not None:
            await gate.pass_(messages, tags)
        await asyncio.sleep(0)
        return reply(messages)

    return PromptedModel(answer=answer, name_=name)


SPENDING = {"thread_id", "calls", "tokens", "calls_per_role", "speculative_wasted", "speculative_wasted_tokens"}


def assert_same_but_spending(on: Result, off: Result) -> None:
    """Identical results; the speculative run spent its discarded drafts on top, counted as such."""
    assert on.model_dump(exclude=SPENDING) == off.model_dump(exclude=SPENDING)
    assert off.speculative_wasted == 0 and off.speculative_wasted_tokens == {}
    wasted = on.speculative_wasted
    assert on.calls == off.calls + wasted
    assert on.calls_per_role == {**off.calls_per_role, "base": off.calls_per_role["base"] + wasted}
    spent = on.speculative_wasted_tokens or {"input": 0, "output": 0, "total": 0}
    assert on.tokens == {key: off.tokens[key] + spent[key] for key in off.tokens}


SCENARIOS = {
    "accepted at once": ([5], [5], {}, 0),
    "refined": ([2, 3, 4], [3, 5], {}, 2),
    "max_rounds": ([2, 2, 2], [2, 2, 2], {"max_rounds": 3}, 2),
    "unreadable critique": ([None], [4], {}, 0),
    "min_score 5, refined once": ([4, 5], [5], {"min_score": 5}, 1),
}


@pytest.mark.parametrize("name", SCENARIOS)
async def test_speculation_changes_nothing_but_spending(name):
    principles, response, options, wasted = SCENARIOS[name]
    off_model, on_model = model(policy(principles, response)), model(policy(principles, response), gate=Gate())
    off = await arun(QUERY, model=off_model, **options)
    on = await arun(QUERY, model=on_model, speculate=True, **options)
    assert_same_but_spending(on, off)
    assert on.speculative_wasted == wasted
    rounds = on.rounds["principles"]
    assert len(on_model.speculative()) + len(on_model.speculative("cancelled")) == rounds  # one per judged draft
    assert not off_model.speculative()


async def test_a_separate_critic_is_never_asked_to_speculate():
    gate = Gate()
    base, critic = model(policy([2, 5], [5]), gate=gate), model(policy([2, 5], [5]), gate=gate)
    on = await arun(QUERY, model=base, critic_model=critic, speculate=True)
    off = await arun(QUERY, model=model(policy([2, 5], [5])), critic_model=model(policy([2, 5], [5])))
    assert_same_but_spending(on, off)
    assert not critic.speculative() and len(base.speculative()) + len(base.speculative("cancelled")) == 2


async def test_with_human_review_nothing_is_drafted_speculatively(db):
    runs = {}
    for speculate in (False, True):
        reviewed = model(policy([2, 5], [5]))
        options = {"model": reviewed, "checkpointer": db, "review_principles": True, "speculate": speculate}
        paused = await arun(QUERY, thread_id=f"t{speculate}", **options)
        assert paused.status == "interrupted"
        runs[speculate] = await arun(None, thread_id=f"t{speculate}", resume="approve", **options)
        assert not reviewed.speculative()
    assert runs[True].model_dump(exclude={"thread_id"}) == runs[False].model_dump(exclude={"thread_id"})


@pytest.mark.parametrize("method", ["fixed-principles", "self-refine", "vanilla"])
async def test_methods_without_a_principles_stage_do_not_speculate(method):
    reply = policy([5], [3, 5])
    options = {"method": method, "principles": "P7" if method == "fixed-principles" else None}
    on_model = model(reply)
    on = await arun(QUERY, model=on_model, speculate=True, **options)
    off = await arun(QUERY, model=model(reply), **options)
    assert on.model_dump(exclude={"thread_id"}) == off.model_dump(exclude={"thread_id"})
    assert not on_model.speculative()


async def test_judgment_drafts_are_speculated_with_their_verdicts():
    """The rubric profile's response drafts are judgments (verdicts): the speculation keeps them whole."""

    def reply(messages: list[BaseMessage]) -> str:
        if is_critic_prompt(messages):
            return critique(5 if "Rubric 2" in messages[1].text.split("under review:")[-1] else 2)
        if re.search(r"Rubric \d", messages[1].text):  # the judgment, following a rubric
            return "Feedback: It answers the question.\nScore: 3"
        return f"Rubric {next_draft(messages, 'Rubric ')}"

    options = {"profile": "rubric", "response_to_judge": "Float on your back first."}
    on = await arun(QUERY, model=model(reply, gate=Gate()), speculate=True, **options)
    off = await arun(QUERY, model=model(reply), **options)
    assert_same_but_spending(on, off)
    assert on.score == 3 and on.speculative_wasted == 1


async def test_a_speculation_called_off_by_the_judge_is_cancelled_in_flight():
    """The first principles draft is refined; its speculation would never finish, so the run ends only
    because the judge cancelled it. The cancelled call is counted; its tokens were never reported."""
    reply, gate = policy([2, 5], [5]), Gate()

    async def answer(messages: list[BaseMessage], tags: list[str]) -> str:
        await gate.pass_(messages, tags)
        if SPECULATIVE in tags and "P1" in messages[1].text:
            await asyncio.Event().wait()  # never set
        return reply(messages)

    hanging = PromptedModel(answer=answer)
    on = await asyncio.wait_for(arun(QUERY, model=hanging, speculate=True), timeout=60)
    off = await arun(QUERY, model=model(reply))
    assert_same_but_spending(on, off)
    assert hanging.speculative("cancelled") == [""] and hanging.speculative() == ["R1 for P2"]
    assert on.speculative_wasted == 1 and on.speculative_wasted_tokens == {"input": 0, "output": 0, "total": 0}


async def test_a_finished_discarded_speculation_counts_its_exact_tokens():
    """The critic answers only after the speculation finished, so it is discarded whole, not cancelled:
    its tokens are the ones its call reported."""
    reply = policy([2, 5], [5])
    finished: dict[str, asyncio.Event] = {"P1": asyncio.Event(), "P2": asyncio.Event()}
    usage: dict[str, tuple[int, int]] = {}

    async def answer(messages: list[BaseMessage], tags: list[str]) -> str:
        text = reply(messages)
        if SPECULATIVE in tags:
            follows = text.rsplit(" ", 1)[-1]
            usage[follows] = (sum(len(m.text.split()) for m in messages), len(text.split()))
            finished[follows].set()
        elif is_critic_prompt(messages) and "Principles under review" in messages[1].text:
            await finished[messages[1].text.split("under review:")[-1].strip()].wait()
        return text

    gated = PromptedModel(answer=answer)
    on = await asyncio.wait_for(arun(QUERY, model=gated, speculate=True), timeout=60)
    off = await arun(QUERY, model=model(reply))
    assert_same_but_spending(on, off)
    assert gated.speculative() == ["R1 for P1", "R1 for P2"] and not gated.speculative("cancelled")
    inputs, outputs = usage["P1"]
    assert on.speculative_wasted == 1
    assert on.speculative_wasted_tokens == {"input": inputs, "output": outputs, "total": inputs + outputs}


async def test_a_failed_speculation_is_dropped_and_the_response_drafted_as_usual():
    reply = policy([5], [5])

    async def answer(messages: list[BaseMessage], tags: list[str]) -> str:
        if SPECULATIVE in tags:
            raise ValueError("the endpoint refused this one")
        return reply(messages)

    on = await arun(QUERY, model=PromptedModel(answer=answer), speculate=True)
    off = await arun(QUERY, model=model(reply))
    assert_same_but_spending(on, off)
    assert on.speculative_wasted == 1


class Runs(BaseCallbackHandler):
    """The chain runs of a graph run (nodes and tasks): name and parent name, in start order."""

    def __init__(self) -> None:
        self.names: dict[Any, str] = {}
        self.started: list[tuple[str, str | None]] = []

    def on_chain_start(self, serialized: Any, inputs: Any, *, run_id: Any, parent_run_id: Any = None, **kw: Any):
        name = kw.get("name") or ""
        self.names[run_id] = name
        self.started.append((name, self.names.get(parent_run_id)))


async def test_the_speculation_is_a_task_of_judge_principles_in_traces_and_updates_name_only_nodes():
    runs = Runs()
    graph = build_graph()
    context = Context(model=model(policy([2, 5], [5]), gate=Gate()), speculate=True)
    await graph.ainvoke({"query": QUERY}, {"callbacks": [runs]}, context=context)
    tasks = [(name, parent) for name, parent in runs.started if name in ("judge", "speculate_response")]
    assert sorted(tasks) == [("judge", "judge_principles")] * 2 + [("speculate_response", "judge_principles")] * 2

    updates = [item async for item in astream(QUERY, model=model(policy([2, 5], [5]), gate=Gate()), speculate=True)]
    nodes = [item.node for item in updates if isinstance(item, Update)]
    assert nodes == [*RUN_REFINING_EACH_STAGE_ONCE[:7], "finalize"]  # the response accepted at once
    assert "speculate_response" not in build_graph().get_graph().nodes  # no branch of its own


async def test_speculative_drafts_never_stream_and_a_used_one_comes_whole():
    graph = build_graph()
    seen = []
    context = Context(model=model(policy([2, 5], [5])), speculate=True)
    async for message, metadata in graph.astream({"query": QUERY}, context=context, stream_mode="messages"):
        seen.append((metadata["langgraph_node"], message.text))
    assert seen == [("draft_principles", "P1"), ("refine_principles", "P2")]

    items = [item async for item in astream(QUERY, model=model(policy([2, 5], [3, 5])), speculate=True, tokens=True)]
    tokens = [(t.node, t.stage, t.text) for t in items if isinstance(t, Token)]
    assert tokens == [
        ("draft_principles", "principles", "P1"),
        ("refine_principles", "principles", "P2"),
        ("draft_response", "response", "R1 for P2"),
        ("refine_response", "response", "R2 for P2"),
    ]


async def test_speculation_saves_one_latency_when_accepted_at_once():
    """Not a timing assertion: the critic of the principles and the speculative draft are in flight
    together (each waits until the other has started)."""
    started = {"critic": asyncio.Event(), "speculation": asyncio.Event()}
    reply = policy([5], [5])

    async def answer(messages: list[BaseMessage], tags: list[str]) -> str:
        if SPECULATIVE in tags:
            started["speculation"].set()
            await started["critic"].wait()
        elif is_critic_prompt(messages) and "Principles under review" in messages[1].text:
            started["critic"].set()
            await started["speculation"].wait()
        return reply(messages)

    result = await asyncio.wait_for(arun(QUERY, model=PromptedModel(answer=answer), speculate=True), timeout=60)
    assert result.calls == 4 and result.speculative_wasted == 0 and result.response == "R1 for P1"


async def test_a_speculation_is_used_only_for_the_settings_it_was_drafted_with():
    """A run stopped after the speculative step and continued with another base model drafts the
    response with that model; until then the speculation is no draft of the thread."""
    from langgraph.checkpoint.memory import InMemorySaver

    graph, config = build_graph(InMemorySaver()), {"configurable": {"thread_id": "t"}}
    first, second = model(policy([5], [5]), "first"), model(policy([5], [5]), "second")
    await graph.ainvoke(
        {"query": QUERY},
        config,
        context=Context(model=first, critic_model=first, speculate=True),
        interrupt_after=["judge_principles"],
    )
    paused = (await graph.aget_state(config)).values
    assert paused["speculation"]["update"]["drafts"] == {"response": ["R1 for P1"]}
    assert "response" not in paused["drafts"]
    done = await graph.ainvoke(None, config, context=Context(model=second, critic_model=first, speculate=True))
    assert done["response"] == "R1 for P1" and done["speculative_wasted"] == 1
    assert [text for state, tags, text in second.log] == ["R1 for P1"]  # drafted anew, not speculatively
    assert [text for state, tags, text in first.log if SPECULATIVE in tags] == ["R1 for P1"]


def test_the_command_line_offers_speculate_to_ask_and_batch():
    from spri.cli.parsers import build_parser
    from spri.options import context_overrides, run_options

    parser = build_parser()
    for argv in (["ask", "--speculate", "Q?"], ["batch", "in.jsonl", "-o", "out.jsonl", "--speculate"]):
        assert context_overrides(parser.parse_args(argv), run_options())["speculate"] is True
    assert "speculate" not in context_overrides(parser.parse_args(["ask", "Q?"]), run_options())


async def test_a_batch_speculates_and_records_what_it_wasted(tmp_path):
    import json

    from spri.batch import run_batch

    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps({"id": f"i{i}", "prompt": f"Question {i}?"}) + "\n" for i in range(3)))
    speculating = model(policy([5], [5]))
    summary = await run_batch(
        str(source), tmp_path / "out.jsonl", id_field="id", progress=False, model=speculating, speculate=True
    )
    records = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert summary["done"] == 3 and summary["calls"] == 12
    assert [r["speculative_wasted"] for r in records] == [0, 0, 0]
    assert len(speculating.speculative()) == 3  # every item's response was drafted speculatively, and used


def _as_saved_before_the_rename(saver: Any, config: dict[str, Any], thread: str) -> dict[str, Any]:
    """A copy of the thread's latest checkpoint, on thread ``thread``, in the form threads had before
    calls per role and discarded speculations' usage were renamed: ``role_calls`` (without discarded
    speculations' calls), ``speculative_waste``, and ``calls_per_role`` empty until finalize."""
    saved = saver.get_tuple(config)
    checkpoint = copy.deepcopy(saved.checkpoint)
    values, versions = checkpoint["channel_values"], checkpoint["channel_versions"]
    waste = values.pop("speculative_wasted_usage", {})
    roles = dict(values.pop("calls_per_role", {}))
    roles["base"] = roles.get("base", 0) - waste.get("calls", 0)
    values.update(role_calls=roles, speculative_waste=waste, calls_per_role={})
    for new, old in (("speculative_wasted_usage", "speculative_waste"), ("calls_per_role", "role_calls")):
        versions[old] = versions.pop(new)
        for seen in checkpoint["versions_seen"].values():
            if new in seen:
                seen[old] = seen.pop(new)
    versions["calls_per_role"] = versions["role_calls"]  # it was a channel of its own, written by finalize
    target = {"configurable": {"thread_id": thread, "checkpoint_ns": ""}}
    return saver.put(target, checkpoint, saved.metadata, dict(versions))


async def test_a_thread_saved_before_the_channels_were_renamed_resumes_with_its_counts():
    """A thread paused after the first principles critique (a speculation discarded, calls made by both
    roles), saved as threads were before the rename, continues to the result of a run never paused."""
    from langgraph.checkpoint.memory import InMemorySaver

    saver, config = InMemorySaver(), {"configurable": {"thread_id": "new"}}
    graph = build_graph(saver)
    context = Context(model=model(policy([2, 5], [5]), gate=Gate()), speculate=True)
    await graph.ainvoke({"query": QUERY}, config, context=context, interrupt_after=["judge_principles"])
    paused = (await graph.aget_state(config)).values
    assert paused["speculative_wasted_usage"]["calls"] == 1 and paused["calls_per_role"] == {"base": 2, "critic": 1}

    old = _as_saved_before_the_rename(saver, config, "old")
    assert "role_calls" in (await graph.aget_state(old)).values
    done = Output.model_validate(await graph.ainvoke(None, old, context=context))
    whole = await arun(QUERY, model=model(policy([2, 5], [5]), gate=Gate()), speculate=True)
    assert done.calls == whole.calls == 7 and done.speculative_wasted == whole.speculative_wasted == 1
    assert done.calls_per_role == whole.calls_per_role == {"base": 4, "critic": 3}
