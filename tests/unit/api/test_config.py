"""Run configuration and profiles: validation with messages that name the field or file."""

from __future__ import annotations

import pytest

from spri import Context, SpriError, arun
from spri.api import make_context
from spri.nodes.profiles import load_profile
from tests.support.fakes import critique, scripted


@pytest.mark.parametrize(
    "option,value,fragment",
    [
        ("min_score", 0, "min_score"),
        ("min_score", 6, "min_score"),
        ("max_rounds", 0, "max_rounds"),
        ("method", "magic", "method"),
        ("seed_policy", "some", "seed_policy"),
        ("profile", "nonexistent", "unknown profile 'nonexistent'"),
        ("model", "  ", "model"),
    ],
)
def test_bad_settings_are_named(option, value, fragment):
    with pytest.raises(SpriError, match=fragment):
        make_context(**{option: value})


def test_context_defaults_and_env(monkeypatch):
    monkeypatch.setenv("SPRI_MODEL", "local:/models/x.gguf")
    monkeypatch.setenv("SPRI_CRITIC_MODEL", "openai:gpt-4o-mini")
    ctx = Context()
    assert (ctx.model, ctx.critic, ctx.min_score, ctx.max_rounds) == (
        "local:/models/x.gguf",
        "openai:gpt-4o-mini",
        4,
        4,
    )
    monkeypatch.delenv("SPRI_CRITIC_MODEL")
    assert Context().critic == "local:/models/x.gguf"  # the critic defaults to the base model


def test_context_fields_are_documented_for_studio():
    schema = Context.model_json_schema()
    for name in ("model", "critic_model", "min_score", "max_rounds", "profile", "method", "seeds", "seed_policy"):
        assert schema["properties"][name].get("description"), name


@pytest.mark.parametrize("query", ["", "   \n\t"])
async def test_empty_query_is_refused_before_any_model_call(query):
    model = scripted()
    with pytest.raises(SpriError, match="query is empty"):
        await arun(query, model=model)
    assert model.calls == []


async def test_missing_api_key_is_reported_before_running(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(SpriError, match="OPENAI_API_KEY"):
        await arun("Q?", model="openai:gpt-4o-mini")


async def test_provider_models_are_built_by_init_chat_model_with_our_limits(monkeypatch):
    import langchain.chat_models

    built: list[tuple[str, dict]] = []

    def fake_init_chat_model(spec: str, **options):
        built.append((spec, options))
        return scripted("P1", critique(5), "R1", critique(5))

    monkeypatch.setattr(langchain.chat_models, "init_chat_model", fake_init_chat_model)
    monkeypatch.setenv("SPRI_TIMEOUT", "7")
    monkeypatch.setenv("SPRI_MAX_RETRIES", "1")
    result = await arun("Q?", model="someprovider:some-model", max_tokens=200)
    assert result.response == "R1" and result.models == {
        "base": "someprovider:some-model",
        "critic": "someprovider:some-model",
    }
    assert built == [("someprovider:some-model", {"max_tokens": 200, "timeout": 7.0, "max_retries": 1})]


async def test_provider_models_that_cannot_be_built_are_named():
    with pytest.raises(SpriError, match=r"model 'anthropic:claude-x'.*langchain[-_]anthropic"):
        await arun("Q?", model="anthropic:claude-x")
    with pytest.raises(
        SpriError, match=r"(?s)cannot create model 'nosuchprovider:m'.*Supported providers.*'provider:NAME'"
    ):
        await arun("Q?", model="nosuchprovider:m")


def test_profile_file_errors_name_the_file_and_field(tmp_path):
    bad_toml = tmp_path / "broken.toml"
    bad_toml.write_text("name = 'x'\n[principles\n")
    with pytest.raises(SpriError, match=r"broken.toml is not valid TOML"):
        load_profile(str(bad_toml))
    incomplete = tmp_path / "incomplete.yaml"
    incomplete.write_text("name: mine\nfields:\n  - {name: query, label: Q}\nprinciples: {system: s}\n")
    with pytest.raises(SpriError, match=r"incomplete.yaml is invalid: .*principles.draft"):
        load_profile(str(incomplete))
    with pytest.raises(SpriError, match="profile file not found"):
        load_profile(str(tmp_path / "missing.toml"))


async def test_a_second_run_on_a_thread_starts_fresh(db):
    first = await arun(
        "Q1?",
        model=scripted("P1", critique(2), "P2", critique(5), "R1", critique(5)),
        goal="G1",
        thread_id="t",
        checkpointer=db,
    )
    model = scripted("X1", critique(5), "Y1", critique(5))
    second = await arun("Q2?", model=model, thread_id="t", checkpointer=db)
    assert first.drafts["principles"] == ["P1", "P2"]
    assert "G1" not in model.calls[0][1].text  # the first run's goal does not leak into the second
    assert second.drafts == {"principles": ["X1"], "response": ["Y1"]}
    assert second.calls == 4


async def test_finished_thread_resumes_to_its_result(db):
    first = await arun("Q1?", model=scripted("P1", critique(5), "R1", critique(5)), thread_id="t", checkpointer=db)
    model = scripted()
    again = await arun(None, thread_id="t", checkpointer=db, model=model)
    assert again.response == first.response == "R1"
    assert model.calls == []


async def test_resuming_an_unknown_thread_is_a_clear_error(db):
    with pytest.raises(SpriError, match="no run with thread id 'nope'"):
        await arun(None, thread_id="nope", checkpointer=db)
