"""``openai:NAME`` models send plain requests as they are (spri.models.openai_http): the same request
bodies and the same results as the openai SDK's own path, which still serves everything else."""

from __future__ import annotations

import pytest
from langchain_core.messages import HumanMessage, SystemMessage

from spri import models
from spri.models.openai_http import PlainCompletions, is_plain_json
from spri.models.verdicts import CriticReply
from tests.support.openai_server import OpenAIServer, Reply

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


@pytest.fixture
def transforms(monkeypatch):
    """How often the SDK's request transform ran."""
    from openai.resources.chat.completions import completions

    seen = []
    transform = completions.async_maybe_transform

    async def counted(*args, **kwargs):
        seen.append(args)
        return await transform(*args, **kwargs)

    monkeypatch.setattr(completions, "async_maybe_transform", counted)
    return seen


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
