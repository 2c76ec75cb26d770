"""The embedded model's wrapper without running the model: its identity for the call cache, its
streaming helpers, and loading that leaves other threads' output alone."""

from __future__ import annotations

import io
import threading

import pytest

from spri.models.embedded.chat_model import LocalChatModel
from spri.models.embedded.loading import _DroppingFor
from spri.models.embedded.streaming import Stripped, TokenTally

BASE = {"model_path": "/models/base.gguf"}


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("max_tokens", 64),
        ("seed", 7),
        ("repeat_penalty", 1.3),
        ("temperature", 0.0),
        ("model_path", "/models/other.gguf"),
        ("n_ctx", 2048),
    ],
)
def test_each_setting_that_changes_a_reply_changes_the_cache_identity(setting, value):
    one, other = LocalChatModel(**BASE), LocalChatModel(**{**BASE, setting: value})
    assert one._identifying_params[setting] != other._identifying_params[setting]
    assert one._get_llm_string() != other._get_llm_string()  # what the model-call cache keys by


def test_a_calls_grammar_changes_the_cache_identity():
    model = LocalChatModel(**BASE)
    assert model._get_llm_string(grammar='root ::= "a"') != model._get_llm_string(grammar='root ::= "b"')


@pytest.mark.parametrize(
    "pieces", [["  Hello", " wor", "ld \n", "\n", "Bye", " \n"], ["\n", " ", "x"], [" ", "\n"], ["a", " ", "b"]]
)
def test_streamed_pieces_add_up_to_the_stripped_whole(pieces):
    stripped = Stripped()
    assert "".join(stripped.feed(p) for p in pieces) == "".join(pieces).strip()


def test_the_tally_counts_the_prompt_and_the_generated_tokens():
    tally = TokenTally()
    for generated in range(4):  # the context grows by one token per sample
        tally([0] * (10 + generated), None)
    assert tally.prompt_tokens == 10
    assert tally.completion_tokens("stop") == 3  # the last sample was the end-of-generation token
    assert tally.completion_tokens("length") == 4  # the last sample was the max_tokens-th token


def test_only_the_loading_threads_stderr_is_dropped():
    target = io.StringIO()
    stream = _DroppingFor(target, threading.get_ident())
    print("load report", file=stream)
    other = threading.Thread(target=lambda: print("progress", file=stream))
    other.start()
    other.join()
    assert target.getvalue() == "progress\n"
    assert stream.encoding == target.encoding  # everything else is the stream's own
