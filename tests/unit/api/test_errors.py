"""Errors name what failed: the endpoint a request actually went to."""

from __future__ import annotations

import httpx
from langchain_openai.chat_models.base import OpenAIConnectionError, OpenAITimeoutError

from spri.api import explain


def test_the_endpoint_named_is_the_one_the_request_went_to(monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", "http://elsewhere.example/v1")
    request = httpx.Request("POST", "http://127.0.0.1:1/v1/chat/completions")
    message, fixable = explain(OpenAIConnectionError(message="Connection error.", request=request))
    assert fixable and message.startswith("cannot reach the model endpoint http://127.0.0.1:1/v1 ")
    assert "elsewhere.example" not in message
    timeout, _ = explain(OpenAITimeoutError(request=request))
    assert "http://127.0.0.1:1/v1" in timeout and "timed out" in timeout
