"""The model-call cache: identical calls are served from SQLite, anything different is not."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage, HumanMessage

from spri.models.cache import CallCache, served_from_cache
from tests.support.fakes import scripted


def test_identical_calls_hit_and_different_ones_miss(tmp_path):
    cache = CallCache(tmp_path / "calls.sqlite")
    model = scripted("first", "second", "third", "fourth")
    model.cache = cache
    prompt = [HumanMessage("How do I boil an egg?")]
    first = model.invoke(prompt)
    again = model.invoke(prompt)
    assert (first.text, again.text) == ("first", "first") and len(model.calls) == 1
    assert served_from_cache(again) and not served_from_cache(first)
    assert again.id != first.id  # a fresh message, never merged with the first in a message list

    assert model.invoke([HumanMessage("How do I fry an egg?")]).text == "second"  # another prompt
    assert model.invoke(prompt, stop=["."]).text == "third"  # another call option
    other = scripted("from another model", name="other")
    other.cache = cache
    assert other.invoke(prompt).text == "from another model"  # another model
    assert len(model.calls) == 3 and len(other.calls) == 1


def test_the_cache_survives_the_process(tmp_path):
    path = tmp_path / "calls.sqlite"
    model = scripted("kept")
    model.cache = CallCache(path)
    model.invoke([HumanMessage("Q?")])
    later = scripted("not asked")
    later.cache = CallCache(path)
    reply = later.invoke([HumanMessage("Q?")])
    assert reply.text == "kept" and later.calls == []


@pytest.mark.parametrize(
    "change", [{"temperature": 0.9}, {"seed": 7}, {"max_tokens": 64}, {"model": "other"}, {"top_p": 0.5}]
)
def test_an_endpoint_models_sampling_settings_are_part_of_the_key(tmp_path, change):
    """The cache keys on the model's settings as LangChain describes them (``_get_llm_string``): an
    openai:NAME model with another temperature, seed, max_tokens or model name never hits."""
    from langchain_core.outputs import ChatGeneration
    from langchain_openai import ChatOpenAI

    settings = {"model": "m", "api_key": "k", "temperature": 0.2, "seed": 1, "max_tokens": 32}
    cache = CallCache(tmp_path / "calls.sqlite")
    base, other = ChatOpenAI(**settings), ChatOpenAI(**{**settings, **change})
    cache.update("PROMPT", base._get_llm_string(), [ChatGeneration(message=AIMessage("kept"))])
    assert cache.lookup("PROMPT", base._get_llm_string())
    assert cache.lookup("PROMPT", other._get_llm_string()) is None


DAMAGED_REPLIES = [
    "not json",
    "[1, 2]",
    '{"a": 1}',
    '{"lc": 1, "type": "constructor", "id": ["not", "allowed"]}',
    '[{"lc": 1, "type": "constructor", "id": ["langchain", "schema", "output", "ChatGeneration"], '
    '"kwargs": {"message": 5}}]',
]


def test_a_damaged_entry_is_a_miss_with_one_warning_naming_the_file(tmp_path):
    """A damaged row (a torn write, an edit, another version's format) costs one model call and one
    warning naming the cache file; the fresh reply replaces the row, so the next call hits again."""
    import sqlite3
    import warnings

    path = tmp_path / "calls.sqlite"
    first = scripted(default="kept")
    first.cache = CallCache(path)
    prompts = [[HumanMessage(f"Question {i}?")] for i in range(len(DAMAGED_REPLIES))]
    for prompt in prompts:
        first.invoke(prompt)
    with sqlite3.connect(path) as db:
        keys = [row[0] for row in db.execute("SELECT key FROM calls ORDER BY rowid")]
        for key, damaged in zip(keys, DAMAGED_REPLIES, strict=True):
            db.execute("UPDATE calls SET reply = ? WHERE key = ?", (damaged, key))
    model = scripted(default=lambda messages: "fresh")
    model.cache = CallCache(path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        replies = [model.invoke(prompt) for prompt in prompts]
    assert [r.text for r in replies] == ["fresh"] * len(prompts) and len(model.calls) == len(prompts)
    assert not any(served_from_cache(r) for r in replies)
    assert len(caught) == 1 and f"model-call cache {path} has an unreadable entry" in str(caught[0].message)
    again = scripted("not asked")
    again.cache = CallCache(path)
    assert all(served_from_cache(again.invoke(prompt)) for prompt in prompts) and again.calls == []
