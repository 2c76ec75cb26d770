"""The embedded model streams, and its cache identity holds every setting."""

from __future__ import annotations

import asyncio
from functools import reduce
from operator import add

import pytest

pytest.importorskip("llama_cpp", reason="the embedded model needs llama-cpp-python (make test installs it)")

from langchain_core.messages import HumanMessage, SystemMessage

from spri import Result, Token, astream
from spri.models.cache import CallCache, served_from_cache
from spri.models.embedded.chat_model import SCORE_MARKER, LocalChatModel, critic_grammar

pytestmark = pytest.mark.embedded

PROMPT = [HumanMessage("Give three tips for sleeping better.")]
VERDICT = [SystemMessage("Judge the answer to the question."), HumanMessage("Q: How do I relax?\nA: Breathe slowly.")]


async def test_astream_yields_tokens_that_add_up_to_the_whole_reply():
    model = LocalChatModel(max_tokens=24, temperature=0.0)
    whole = await model.ainvoke(PROMPT, slot="t-whole")  # separate slots: both evaluate the prompt afresh
    chunks = [chunk async for chunk in model.astream(PROMPT, slot="t-stream")]
    assert len([c for c in chunks if c.content]) > 1
    streamed = reduce(add, chunks)
    assert streamed.content == whole.content and whole.content
    assert streamed.usage_metadata == whole.usage_metadata  # counted exactly, as the whole reply's
    assert streamed.response_metadata == whole.response_metadata  # finish reason "length", model name


async def test_a_streamed_verdict_keeps_its_grammar_and_digit_probabilities():
    model = LocalChatModel(max_tokens=96, temperature=0.0)
    options = {"grammar": critic_grammar(96), "digit_probs_after": SCORE_MARKER}
    whole = await model.ainvoke(VERDICT, slot="v-whole", **options)
    chunks = [chunk async for chunk in model.astream(VERDICT, slot="v-stream", **options)]
    assert len(chunks) > 2
    streamed = reduce(add, chunks)
    assert streamed.content == whole.content
    assert streamed.content.startswith("Feedback: ") and streamed.content[-1] in "12345"
    assert streamed.response_metadata["finish_reason"] == "stop"  # ended by the grammar, not the cap
    assert streamed.usage_metadata == whole.usage_metadata
    assert len(streamed.response_metadata["digit_probs"]) == 5
    assert streamed.response_metadata["digit_probs"] == whole.response_metadata["digit_probs"]


async def test_with_stop_words_the_reply_comes_whole():
    model = LocalChatModel(max_tokens=24, temperature=0.0)
    whole = await model.ainvoke(PROMPT, slot="t-whole", stop=["."])
    chunks = [chunk async for chunk in model.astream(PROMPT, slot="t-stream", stop=["."])]
    assert [c.content for c in chunks] == [whole.content]
    assert chunks[0].usage_metadata == whole.usage_metadata


async def test_a_stream_left_early_frees_its_slot():
    model = LocalChatModel(max_tokens=24, temperature=0.0)
    stream = model.astream(PROMPT, slot="t-left")
    await anext(stream)
    await stream.aclose()
    # the slot's lock is free again: this call does not wait for ever
    reply = await asyncio.wait_for(model.ainvoke(PROMPT, slot="t-left"), timeout=600)
    assert reply.content


async def test_drafts_stream_as_tokens_through_the_graph():
    stream = astream("How do I sleep better?", model="local", tokens=True, max_tokens=96, max_rounds=1)
    items = [item async for item in stream]
    result = next(item for item in items if isinstance(item, Result))
    tokens = [item for item in items if isinstance(item, Token)]
    by_node: dict[str, list[str]] = {}
    for token in tokens:
        by_node.setdefault(token.node, []).append(token.text)
    assert set(by_node) <= {"draft_principles", "refine_principles", "draft_response", "refine_response"}
    assert len(by_node["draft_principles"]) > 1  # token by token
    # a response comes sentence by sentence: the last sentence is held until trimming cannot take it back
    assert len(by_node["draft_response"]) > 1
    assert "".join(by_node["draft_principles"]) == result.drafts["principles"][0]
    assert "".join(by_node["draft_response"]) == result.drafts["response"][0]
    # verdicts ran through the stream too (a streaming handler is attached), scored as ever
    for stage in ("principles", "response"):
        assert all(c.expected_score is not None for c in result.critiques[stage])
        assert result.calls_per_stage[stage] == len(result.drafts[stage]) + len(result.critiques[stage])
    assert result.tokens["input"] > 0 and result.tokens["output"] > 0


def test_the_call_cache_never_serves_a_reply_made_with_other_settings(tmp_path):
    cache = CallCache(tmp_path / "calls.sqlite")

    def ask(**settings: object) -> bool:
        model = LocalChatModel(cache=cache, **{"max_tokens": 4, "temperature": 0.0, **settings})
        return served_from_cache(model.invoke(PROMPT, slot="t-cache"))

    assert not ask() and ask()  # the same settings hit
    assert not ask(seed=1) and not ask(repeat_penalty=1.3)
    assert not ask(max_tokens=5) and not ask(temperature=0.5)
