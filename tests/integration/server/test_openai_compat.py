"""`spri serve`'s OpenAI-compatible endpoint driven by the `openai` client (sync, async, streaming) and by
`langchain_openai.ChatOpenAI`, over a scripted upstream model."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from langchain_openai import ChatOpenAI

from tests.support.openai_server import Fault, OpenAIServer, is_critic_request
from tests.support.policies import deterministic
from tests.support.serving import SpriServer, serving

KEY = "openai-compat-key-0123456789"
FAILING = "please fail upstream"


def policy(request: dict[str, Any]) -> Any:
    if any(FAILING in str(m.get("content")) for m in request["messages"]):
        return Fault(status=500)
    return deterministic(request)


@pytest.fixture(scope="module")
def upstream() -> Iterator[OpenAIServer]:
    with OpenAIServer(policy) as server:
        yield server


@pytest.fixture(scope="module")
def server(tmp_path_factory, upstream) -> Iterator[SpriServer]:
    home = tmp_path_factory.mktemp("openai-compat")
    with serving(home, OPENAI_BASE_URL=upstream.base_url, SPRI_API_KEY=KEY) as running:
        yield running


@pytest.fixture
def client(server, upstream) -> openai.OpenAI:
    upstream.requests.clear()
    return openai.OpenAI(base_url=server.url + "/v1", api_key=KEY, max_retries=0)


def upstream_tokens(requests: list[dict[str, Any]]) -> int:
    """Every token the scripted upstream reported for these requests (its counts are words)."""
    total = 0
    for request in requests:
        reply = deterministic(request)
        total += sum(len(str(m.get("content") or "").split()) for m in request["messages"])
        total += len((reply.text or json.dumps(reply.tool_args or {})).split())
    return total


def test_the_openai_client_gets_the_final_response_usage_and_spri_fields(client, upstream):
    answer = client.chat.completions.create(model="spri", messages=[{"role": "user", "content": "How do I rest?"}])
    assert answer.choices[0].message.content == "revised response text"
    assert answer.choices[0].finish_reason == "stop" and answer.model == "spri"
    assert len(upstream.requests) == 8
    assert answer.usage is not None and answer.usage.total_tokens == upstream_tokens(upstream.requests)
    assert answer.usage.prompt_tokens + answer.usage.completion_tokens == answer.usage.total_tokens
    extension = answer.model_extra["spri"]
    assert extension["principles"] == "revised principles text"
    assert extension["scores"] == {"principles": 5, "response": 5}
    assert extension["stop_reason"] == {"principles": "accepted", "response": "accepted"}
    assert extension["calls"] == 8 and extension["method"] == "spri" and extension["thread_id"]


async def test_the_async_client_and_a_method_named_by_the_model(server, upstream):
    async with openai.AsyncOpenAI(base_url=server.url + "/v1", api_key=KEY, max_retries=0) as client:
        answer = await client.chat.completions.create(
            model="spri:fixed-principles",
            messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "How do I rest?"}],
            extra_body={"spri": {"principles": "1. Be kind.", "max_rounds": 1}},
        )
    assert answer.choices[0].message.content == "response text"  # one critique allowed: the first draft stays
    assert answer.model_extra["spri"]["method"] == "fixed-principles"
    assert answer.model_extra["spri"]["principles"] == "1. Be kind."


def test_streaming_gives_the_response_tokens_then_usage_and_done(client, upstream, server):
    chunks = list(
        client.chat.completions.create(
            model="spri",
            messages=[{"role": "user", "content": "How do I rest?"}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "revised response text"
    last = [c for c in chunks if c.choices][-1]
    assert last.choices[0].finish_reason == "stop" and last.model_extra["spri"]["scores"]["response"] == 5
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens == upstream_tokens(upstream.requests)

    raw = httpx.post(
        server.url + "/v1/chat/completions",
        json={"model": "spri", "messages": [{"role": "user", "content": "Again?"}], "stream": True},
        headers={"Authorization": f"Bearer {KEY}"},
        timeout=60,
    )
    assert raw.headers["content-type"].startswith("text/event-stream")
    progress = [json.loads(line[len(": spri ") :]) for line in raw.text.splitlines() if line.startswith(": spri ")]
    assert [p["node"] for p in progress][:3] == ["begin", "draft_principles", "judge_principles"]
    assert raw.text.rstrip().endswith("data: [DONE]")


def test_chat_openai_uses_spri_as_a_model(server):
    model = ChatOpenAI(model="spri", base_url=server.url + "/v1", api_key=KEY, max_retries=0)
    assert model.invoke("How do I rest?").content == "revised response text"
    streamed = "".join(str(chunk.content) for chunk in model.stream("How do I rest?"))
    assert streamed == "revised response text"


def test_errors_have_openais_shape(client, server):
    with pytest.raises(openai.NotFoundError) as unknown:
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "Hi?"}])
    assert unknown.value.code == "model_not_found" and unknown.value.param == "model"
    assert unknown.value.body["type"] == "invalid_request_error"

    anonymous = openai.OpenAI(base_url=server.url + "/v1", api_key="wrong-key-0123456789", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as refused:
        anonymous.models.list()
    assert refused.value.code == "invalid_api_key"
    bare = httpx.get(server.url + "/v1/models")
    assert bare.status_code == 401 and set(bare.json()["error"]) == {"message", "type", "param", "code"}
    auth = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
    huge = httpx.post(server.url + "/v1/chat/completions", content=b" " * 1_100_000, headers=auth)
    assert huge.status_code == 413 and huge.json()["error"]["code"] == "body_too_large"
    out_of_range = b'{"model": "spri", "messages": [{"role": "user", "content": "Hi?"}], "temperature": 1e999}'
    broken = httpx.post(server.url + "/v1/chat/completions", content=out_of_range, headers=auth)
    assert broken.status_code == 400 and "out of range" in broken.json()["error"]["message"]

    with pytest.raises(openai.BadRequestError) as bad:
        client.chat.completions.create(
            model="spri", messages=[{"role": "user", "content": "Hi?"}], extra_body={"spri": {"model": "x"}}
        )
    assert bad.value.param == "spri" and "not allowed: model" in bad.value.message

    with pytest.raises(openai.BadRequestError) as missing:
        client.chat.completions.create(model="spri-reappraisal", messages=[{"role": "user", "content": "Sad."}])
    assert "goal" in missing.value.message

    with pytest.raises(openai.InternalServerError) as upstream_failed:
        client.chat.completions.create(model="spri", messages=[{"role": "user", "content": FAILING}])
    assert upstream_failed.value.status_code == 502 and "127.0.0.1" in upstream_failed.value.message
    assert "openai-compat-key" not in upstream_failed.value.message and "server-secret" not in str(
        upstream_failed.value.body
    )

    with pytest.raises(openai.APIError) as in_stream:
        list(client.chat.completions.create(model="spri", messages=[{"role": "user", "content": FAILING}], stream=True))
    assert "127.0.0.1" in in_stream.value.message


def test_models_lists_what_the_whitelist_allows(client):
    names = [model.id for model in client.models.list()]
    assert names[0] == "spri"
    assert {"spri-reappraisal", "spri-rubric", "spri:fixed-principles", "spri:vanilla"} <= set(names)
    assert "spri:self-instruct" not in names  # runs only under the paper's protocol
    assert client.models.retrieve("spri-reappraisal").owned_by == "spri"


def test_a_thread_named_by_header_is_the_keys_own(client, server):
    client.chat.completions.create(
        model="spri",
        messages=[{"role": "user", "content": "Threaded?"}],
        extra_headers={"X-Thread-Id": "chat-thread-1"},
    )
    thread = httpx.get(server.url + "/spri/threads/chat-thread-1", headers={"Authorization": f"Bearer {KEY}"})
    assert thread.status_code == 200 and thread.json()["input"]["query"] == "Threaded?"


FOLLOW_UP = [
    {"role": "user", "content": "My landlord kept my deposit."},
    {"role": "assistant", "content": "Write him a letter asking for it back."},
    {"role": "user", "content": "And if he ignores my letter?"},
]


def test_a_follow_up_reaches_the_model_with_its_earlier_turn(client, upstream):
    answer = client.chat.completions.create(model="spri", messages=FOLLOW_UP)
    assert answer.choices[0].message.content == "revised response text"
    prompts = [json.dumps(r["messages"]) for r in upstream.requests if not is_critic_request(r)]
    assert len(prompts) == 4  # two drafts and two refinements, each shown the conversation
    assert all("My landlord kept my deposit." in p and "And if he ignores my letter?" in p for p in prompts)
