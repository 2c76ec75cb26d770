"""``openai:NAME`` models send plain requests as they are (spri.models.openai_http): the same request
bodies and the same results as the openai SDK's own path, which still serves everything else."""

from __future__ import annotations

import json

import pytest
from langchain_core.messages import HumanMessage, SystemMessage

from spri import models
from spri.models.openai_http import PlainCompletions, is_plain_json
from spri.models.verdicts import CriticReply
from tests.support.openai_server import Fault, OpenAIServer, Reply

MESSAGES = [SystemMessage(content="You write principles."), HumanMessage(content="How do I learn to swim?")]


def policy(request):
    return Reply(text="1. Float first.", tool_args={"feedback": "Clear.", "score": 4})


@pytest.fixture
def server(monkeypatch):
    with OpenAIServer(policy) as running:
        monkeypatch.setenv("OPENAI_API_KEY", "test")
        yield running


def pair(server):
    """The same model twice: with the plain path, and with the SDK's chat.completions as it comes."""
    plain = models.chat_openai("fake", base_url=server.base_url)
    sdk = models.chat_openai("fake", base_url=server.base_url)
    sdk.async_client = sdk.root_async_client.chat.completions
    assert isinstance(plain.async_client, PlainCompletions)
    return plain, sdk


def comparable(message):
    return {
        "content": message.content,
        "tool_calls": message.tool_calls,
        "usage": message.usage_metadata,
        "finish": message.response_metadata.get("finish_reason"),
        "model": message.response_metadata.get("model_name"),
    }


def count_calls(monkeypatch, module, name):
    """The arguments of every call of the coroutine function ``module.name`` from now on."""
    seen = []
    original = getattr(module, name)

    async def counted(*args, **kwargs):
        seen.append(args)
        return await original(*args, **kwargs)

    monkeypatch.setattr(module, name, counted)
    return seen


@pytest.fixture
def transforms(monkeypatch):
    """How often the SDK's request transform ran."""
    from openai.resources.chat.completions import completions

    return count_calls(monkeypatch, completions, "async_maybe_transform")


@pytest.mark.parametrize("tools", [False, True])
async def test_plain_requests_match_the_sdk_path(server, tools, transforms):
    plain, sdk = pair(server)
    if tools:
        plain = plain.bind_tools([CriticReply], tool_choice="CriticReply")
        sdk = sdk.bind_tools([CriticReply], tool_choice="CriticReply")
    ours = await plain.ainvoke(MESSAGES)
    assert transforms == []  # sent as it is
    theirs = await sdk.ainvoke(MESSAGES)
    assert len(transforms) == 1
    assert comparable(ours) == comparable(theirs)
    assert server.requests[0] == server.requests[1]  # the same JSON
    assert ("tools" in server.requests[0]) is tools


async def test_what_the_sdk_must_handle_still_goes_through_it(server):
    plain = models.chat_openai("fake", base_url=server.base_url)
    plain.extra_body = {"top_k": 5}  # a request option: the SDK merges it into the body
    reply = await plain.ainvoke(MESSAGES)
    assert reply.content == "1. Float first."
    assert server.requests[-1]["top_k"] == 5
    chunks = [chunk.content async for chunk in plain.astream(MESSAGES)]  # streaming: the SDK's
    assert "".join(chunks) == "1. Float first." and server.requests[-1]["stream"] is True


def test_only_plain_json_is_sent_as_it_is():
    assert is_plain_json({"messages": [{"role": "user", "content": "x"}], "n": 1, "t": 0.5, "s": None, "b": True})
    assert not is_plain_json({"response_format": CriticReply})
    assert not is_plain_json({"messages": iter([])})
    assert not is_plain_json({1: "non-string key"})


@pytest.fixture
def hand_offs(monkeypatch):
    """How often ChatOpenAI handed a reply to a worker thread to build its chat result."""
    from langchain_openai.chat_models import base

    return count_calls(monkeypatch, base, "run_in_executor")


async def test_plain_results_are_built_without_a_worker_thread(server, hand_offs):
    plain, sdk = pair(server)
    plain.include_response_headers = sdk.include_response_headers = True
    ours = await plain.ainvoke(MESSAGES)
    assert hand_offs == []
    theirs = await sdk.ainvoke(MESSAGES)
    assert len(hand_offs) == 1
    assert comparable(ours) == comparable(theirs)
    ignored = {"date"}
    headers = [{k: v for k, v in m.response_metadata["headers"].items() if k not in ignored} for m in (ours, theirs)]
    assert headers[0] == headers[1] and headers[0]["content-type"] == "application/json"


async def test_without_the_verified_langchain_openai_chat_openai_answers_itself(server, hand_offs, monkeypatch):
    """spri.compat's fallback: where langchain-openai's private helpers are missing (or its version is not
    the one checked), the plain model answers through ChatOpenAI's own path, with the same result."""
    from spri import compat

    plain, _ = pair(server)
    inline = await plain.ainvoke(MESSAGES)
    assert hand_offs == []
    monkeypatch.setattr(compat, "private", lambda *names: None)
    fallback = await plain.ainvoke(MESSAGES)
    assert len(hand_offs) == 1  # ChatOpenAI's worker thread: its own _agenerate ran
    assert comparable(fallback) == comparable(inline)


def _error(status, message):
    return Fault(status=status, body=json.dumps({"error": {"message": message, "type": "invalid_request_error"}}))


@pytest.mark.parametrize(
    "fault",
    [
        _error(400, "This model's maximum context length is 10 tokens (context_length_exceeded)"),
        _error(400, "Unsupported parameter: 'n'"),
        _error(401, "Incorrect API key provided"),
        _error(404, "The model 'fake' does not exist"),
        _error(429, "Rate limit reached"),
        _error(500, "The server had an error"),
    ],
    ids=["context", "bad-request", "auth", "not-found", "rate-limit", "server-error"],
)
async def test_errors_are_translated_as_chat_openai_translates_them(monkeypatch, fault):
    monkeypatch.setenv("SPRI_MAX_RETRIES", "0")
    with OpenAIServer(lambda request: fault) as failing:
        monkeypatch.setenv("OPENAI_API_KEY", "test")
        plain, sdk = pair(failing)
        raised = []
        for model in (plain, sdk):
            with pytest.raises(Exception) as caught:
                await model.ainvoke(MESSAGES)
            raised.append(caught.value)
    ours, theirs = raised
    assert type(ours) is type(theirs) and str(ours) == str(theirs)
    assert type(ours).__module__.startswith("langchain_openai")  # translated, as ChatOpenAI does


async def test_a_body_that_is_not_json_keeps_its_response(monkeypatch):
    monkeypatch.setenv("SPRI_MAX_RETRIES", "0")
    with OpenAIServer(lambda request: Fault(malformed=True)) as failing:
        monkeypatch.setenv("OPENAI_API_KEY", "test")
        plain, _ = pair(failing)
        with pytest.raises(json.JSONDecodeError) as caught:
            await plain.ainvoke(MESSAGES)
    assert caught.value.response.status_code == 200  # attached, as ChatOpenAI attaches it


def test_serialized_as_chat_openai(monkeypatch):
    """The model-call cache keys a call by the model's serialized form: ours is ChatOpenAI's, so a
    cache filled by a plain ChatOpenAI (or before this class existed) still answers."""
    from langchain_openai import ChatOpenAI

    monkeypatch.setenv("OPENAI_API_KEY", "test")
    ours = models.chat_openai("fake", base_url="http://127.0.0.1:9/v1", max_tokens=64)
    theirs = ChatOpenAI(
        model="fake", base_url="http://127.0.0.1:9/v1", max_tokens=64, timeout=ours.request_timeout, max_retries=3
    )
    assert ours.to_json()["id"] == theirs.to_json()["id"] == ["langchain", "chat_models", "openai", "ChatOpenAI"]
    assert ours._get_llm_string(stop=None) == theirs._get_llm_string(stop=None)


def test_named_as_chat_openai_in_results_and_saved_threads(monkeypatch):
    """A thread continued once (its model rebuilt by chat_openai) is saved as openai:NAME again."""
    from spri.state import model_name
    from spri.threads import _rebuildable

    monkeypatch.setenv("OPENAI_API_KEY", "test")
    ours = models.chat_openai("fake", base_url="http://127.0.0.1:9/v1")
    assert model_name(ours) == "ChatOpenAI:fake"
    assert _rebuildable("model", ours) == {"model": "openai:fake", "model_base_url": "http://127.0.0.1:9/v1"}
