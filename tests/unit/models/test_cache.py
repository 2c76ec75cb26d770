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
