"""A model server that must never be asked (a refused database stops a run before any model call), and
the CLI's environment pointing at it."""

from __future__ import annotations

import pytest

from tests.support.openai_server import OpenAIServer, Reply
from tests.support.processes import cli_env


@pytest.fixture
def server():
    with OpenAIServer(lambda request: Reply(text="never asked")) as running:
        yield running


@pytest.fixture
def env(tmp_path, server) -> dict[str, str]:
    return cli_env(tmp_path, OPENAI_API_KEY="test-key", OPENAI_BASE_URL=server.base_url)
