"""spri.compat, the one module using dependencies' private names: each use is found with the versions
installed, and falls back to the public path when a name is missing or the version is not verified.
(The HTTP and chat-model fallbacks run against real servers in tests/integration/models.)"""

from __future__ import annotations

import pytest
from langchain_core.messages import HumanMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, MessagesState, StateGraph

from spri import compat
from spri.agent_adapters import spri_node
from tests.support.fakes import critique, is_critic_prompt, scripted


@pytest.fixture
def fresh_lookups():
    compat.private.cache_clear()
    yield
    compat.private.cache_clear()


def test_each_private_name_is_found_in_the_installed_versions(fresh_lookups):
    assert compat.private("langgraph", "langgraph._internal._constants", "CONFIG_KEY_CHECKPOINTER")
    assert compat.private(
        "langchain-openai", "langchain_openai.chat_models.base", "_handle_openai_api_error", "_add_gateway_metadata"
    )


def test_a_missing_name_or_an_unverified_version_gives_none(fresh_lookups, monkeypatch):
    assert compat.private("langgraph", "langgraph._internal._constants", "NO_SUCH_NAME") is None
    assert compat.private("langgraph", "langgraph._internal._no_such_module", "X") is None
    monkeypatch.setitem(compat.VERIFIED, "langgraph", ((0, 1), (0, 2)))
    assert compat.private("langgraph", "langgraph._internal._constants", "CONFIG_KEY_CHECKPOINTER") is None


def _sync_parent(saver):
    model = scripted(default=lambda m: critique(5) if is_critic_prompt(m) else "1. Be honest.")
    builder = StateGraph(MessagesState)
    builder.add_node("spri", spri_node(model=model))
    builder.add_edge(START, "spri")
    builder.add_edge("spri", END)
    return builder.compile(checkpointer=saver)


def _answer(saver, thread):
    parent = _sync_parent(saver)
    config = {"configurable": {"thread_id": thread}}
    parent.invoke({"messages": [HumanMessage("How do I apologise?")]}, config)
    return parent.get_state(config).values["messages"][-1].text


def test_the_checkpointer_in_a_node_config_falls_back_to_the_config_as_it_is(monkeypatch):
    saver = InMemorySaver()
    assert _answer(saver, "found") == "1. Be honest."
    monkeypatch.setattr(compat, "private", lambda *names: None)
    config = {"configurable": {"thread_id": "t"}}
    assert compat.config_checkpointer(config) is None
    assert compat.with_config_checkpointer(config, object()) is config
    # the public path: SPRI gets the parent's checkpointer as LangGraph hands it over (async methods)
    assert _answer(saver, "fallback") == "1. Be honest."
    namespaces = {
        c.config["configurable"]["checkpoint_ns"] for c in saver.list({"configurable": {"thread_id": "fallback"}})
    }
    assert any(ns.startswith("spri:") for ns in namespaces)


def test_ray_auth_refresh_falls_back_to_nothing(monkeypatch):
    pytest.importorskip("ray")
    assert compat.refresh_ray_auth()
    monkeypatch.setattr(compat, "private", lambda *names: None)
    assert not compat.refresh_ray_auth()


def test_a_private_ray_head_keeps_its_autoscaler_on_an_unverified_ray(monkeypatch):
    pytest.importorskip("ray")
    assert compat.ray_start_without_autoscaler() == ["--no-monitor"]
    monkeypatch.setattr(compat, "_release", lambda name: (99, 0))
    assert compat.ray_start_without_autoscaler() == []
    monkeypatch.setattr(compat, "_release", lambda name: None)
    assert compat.ray_start_without_autoscaler() == []
