from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

# Tests never talk to LangSmith unless a test points it at its own recorder.
os.environ["LANGSMITH_TRACING"] = "false"
os.environ.pop("LANGCHAIN_TRACING_V2", None)
for _name in ("SPRI_MODEL", "SPRI_CRITIC_MODEL", "SPRI_DB"):
    os.environ.pop(_name, None)


@pytest.fixture
def db(tmp_path) -> str:
    return str(tmp_path / "checkpoints.sqlite")


@pytest.fixture
def isolated_env(tmp_path, monkeypatch) -> Iterator[None]:
    """A HOME of its own, so a default checkpoint database never lands in the user's."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "home" / "data"))
    yield


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    from tests.support.postgres import postgres_url

    with postgres_url() as url:
        yield url
