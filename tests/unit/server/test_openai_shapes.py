"""The OpenAI-compatible endpoint's pure parts: model names, a request turned into a run, errors in
OpenAI's shape."""

from __future__ import annotations

import json

import pytest

from spri.api import METHODS, Critique, Result
from spri.server.openai_compat import openai_shaped
from spri.server.openai_shapes import ChatRequest, RequestRefused, completion, models, run_request


def request(**fields) -> ChatRequest:
    return ChatRequest.model_validate({"model": "spri", "messages": [{"role": "user", "content": "Hi?"}], **fields})


def test_model_names_are_a_profile_and_a_method():
    names = models()
    assert names["spri"] == ("general", "spri")
    assert names["spri-reappraisal"] == ("reappraisal", "spri")
    assert names["spri:fixed-principles"] == ("general", "fixed-principles")
    assert names["spri-rubric:vanilla"] == ("rubric", "vanilla")
    assert not any(name.endswith(":" + m) for name in names for m, plan in METHODS.items() if plan.paper_only)


def test_a_request_becomes_the_runs_input_and_options():
    run, options = run_request(request(model="spri-reappraisal", spri={"goal": "calm", "max_rounds": 2}))
    assert run == {"query": "Hi?", "messages": [{"role": "user", "content": "Hi?"}], "goal": "calm"}
    assert options == {"max_rounds": 2, "profile": "reappraisal", "method": "spri"}


def test_the_conversation_is_the_input_and_its_last_user_turn_the_query():
    messages = [
        {"role": "developer", "content": "Be brief."},
        {"role": "user", "content": "First?"},
        {"role": "assistant", "content": "An answer."},
        {"role": "user", "content": [{"type": "text", "text": "And "}, {"type": "text", "text": "then?"}]},
    ]
    run, _ = run_request(request(messages=messages))
    assert run["query"] == "And then?"
    assert run["messages"][0] == {"role": "system", "content": "Be brief."} and len(run["messages"]) == 4
    with pytest.raises(RequestRefused, match="no user turn") as refused:
        run_request(request(messages=[{"role": "assistant", "content": "Hello."}]))
    assert refused.value.param == "messages"
    with pytest.raises(RequestRefused, match="role 'robot'"):
        run_request(request(messages=[{"role": "robot", "content": "Beep?"}]))


@pytest.mark.parametrize(
    "fields,status,param,words",
    [
        ({"model": "gpt-4o"}, 404, "model", "does not exist"),
        ({"n": 2}, 400, "n", "one choice"),
        ({"tools": [{"type": "function", "function": {"name": "f"}}]}, 400, "tools", "no tools"),
        ({"spri": {"critic_model": "openai:x"}}, 400, "spri", "not allowed: critic_model"),
        ({"spri": {"review_principles": True}}, 400, "spri", "not allowed: review_principles"),
        ({"spri": {"method": "vanilla"}}, 400, "spri.method", "the model name chooses it"),
    ],
)
def test_requests_refused_name_the_parameter(fields, status, param, words):
    with pytest.raises(RequestRefused, match=words) as refused:
        run_request(request(**fields))
    assert (refused.value.status, refused.value.param) == (status, param)


def test_a_completion_carries_usage_and_the_spri_field():
    result = Result(
        response="Rest.",
        principles="1. Be kind.",
        critiques={"principles": [Critique(feedback="ok", score=5)], "response": [Critique(feedback="ok", score=4)]},
        tokens={"input": 10, "output": 5, "total": 15},
        calls=4,
        thread_id="t1",
    )
    body = completion("chatcmpl-1", "spri", result)
    assert body["choices"][0]["message"]["content"] == "Rest."
    assert body["usage"] == {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
    assert body["spri"]["scores"] == {"principles": 5, "response": 4} and body["spri"]["thread_id"] == "t1"


def test_the_servers_error_bodies_in_openais_shape():
    ours = json.dumps({"detail": "missing or wrong bearer token", "error": "unauthorized", "thread_id": None})
    shaped = json.loads(openai_shaped(401, ours.encode()))
    assert shaped == {
        "error": {
            "message": "missing or wrong bearer token",
            "type": "authentication_error",
            "param": None,
            "code": "invalid_api_key",
        }
    }
    upstream = json.loads(openai_shaped(502, b'{"detail": "endpoint down", "error": "upstream_unreachable"}'))
    assert upstream["error"]["type"] == "server_error" and upstream["error"]["code"] == "upstream_unreachable"
    already = b'{"error": {"message": "m", "type": "t", "param": null, "code": null}}'
    assert openai_shaped(404, already) == already
