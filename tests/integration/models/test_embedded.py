"""End to end on the real embedded model (SmolLM2-135M via llama-cpp-python), offline."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytest.importorskip("llama_cpp", reason="the embedded model needs llama-cpp-python (make test installs it)")

from spri import arun
from spri.models import resolve
from spri.models.embedded.chat_model import LocalChatModel, critic_grammar
from tests.support.processes import cli_env

pytestmark = pytest.mark.embedded


async def test_whole_graph_runs_on_the_embedded_model():
    result = await arun(
        "How can I keep houseplants alive while travelling for two weeks?",
        model="local",
        max_tokens=96,
        max_rounds=2,
    )
    assert result.principles and result.principles.strip()
    assert result.response and result.response.strip()
    for stage in ("principles", "response"):
        critiques = result.critiques[stage]
        assert 1 <= len(critiques) <= 2
        for c in critiques:
            assert isinstance(c.score, int) and 1 <= c.score <= 5
            # the score is the probability-weighted mean over 1..5, rounded; the sampled digit is kept too
            assert c.expected_score is not None and 1.0 <= c.expected_score <= 5.0
            assert c.score == int(c.expected_score + 0.5)
            assert c.sampled_score in range(1, 6)
            assert c.feedback
        assert result.stop_reason[stage] in ("accepted", "max_rounds")
        # one call per draft and per critique: the grammar keeps the format, so no reminder retries
        assert result.calls_per_stage[stage] == len(result.drafts[stage]) + len(critiques)
    assert result.tokens["input"] > 0 and result.tokens["output"] > 0


def test_the_model_loads_once_per_process():
    a = resolve("local", 64)
    b = LocalChatModel(max_tokens=32)
    assert isinstance(a, LocalChatModel)
    assert a.load() is b.load()


def test_grammar_caps_the_feedback_below_max_tokens():
    assert "{12,80}" in critic_grammar(64)
    assert "{12,600}" in critic_grammar(4096)


def test_cli_json_on_the_embedded_model(tmp_path):
    env = cli_env(tmp_path)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "spri.cli",
            "ask",
            "What should I pack for a day hike?",
            "--json",
            "--max-tokens",
            "64",
            "--max-rounds",
            "1",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["principles"] and result["response"]
    assert all(isinstance(c["score"], int) for s in ("principles", "response") for c in result["critiques"][s])
    assert result["stop_reason"]["principles"] in ("accepted", "max_rounds")
    assert result["calls"] == 4
    assert (tmp_path / "data" / "spri" / "checkpoints.sqlite").is_file()  # default checkpoint location


async def test_an_input_over_the_context_is_refused_naming_the_limit():
    from spri import SpriError

    with pytest.raises(SpriError, match=r"exceeds the embedded model's context of 4096 tokens"):
        await arun("word " * 5000, model="local", max_tokens=64)
