from __future__ import annotations

import pytest

from tests.support.processes import cli_env


@pytest.fixture
def env(tmp_path) -> dict[str, str]:
    """The environment of a `spri` child process: HOME under tmp_path, the fake endpoint's key, no retries."""
    return cli_env(tmp_path, OPENAI_API_KEY="test-key", SPRI_MAX_RETRIES="0", SPRI_TIMEOUT="20")
