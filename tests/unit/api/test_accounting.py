"""Calls and tokens in a result equal what the models actually saw, counted independently."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.callbacks import AsyncCallbackHandler

from spri import arun
from tests.support.fakes import critique, scripted


class Counter(AsyncCallbackHandler):
    def __init__(self) -> None:
        self.calls, self.input_tokens, self.output_tokens = 0, 0, 0

    async def on_llm_end(self, response: Any, **kwargs: Any) -> None:
        self.calls += 1
        usage = response.generations[0][0].message.usage_metadata or {}
        self.input_tokens += usage.get("input_tokens", 0)
        self.output_tokens += usage.get("output_tokens", 0)


@pytest.mark.parametrize(
    "replies,options",
    [
        (["P1", critique(5), "R1", critique(5)], {}),
        (["P1", critique(2), "P2", "no score here", critique(4), "R1", critique(3), "R2", critique(5)], {}),
        (["R1", critique(1), "R2", critique(1), "R3", critique(1)], {"method": "self-refine", "max_rounds": 3}),
        (["R1"], {"method": "vanilla"}),
        (
            ["RUBRIC", critique(4), "unsure", "Feedback: ok\nScore: 3", critique(5)],
            {"profile": "rubric", "response_to_judge": "an answer"},
        ),
    ],
)
async def test_reported_calls_and_tokens_match_an_independent_count(replies, options):
    counter = Counter()
    result = await arun("Q?", model=scripted(*replies), parent_config={"callbacks": [counter]}, **options)
    assert result.calls == counter.calls == len(replies)
    assert (result.tokens["input"], result.tokens["output"]) == (counter.input_tokens, counter.output_tokens)
    assert sum(result.calls_per_stage.values()) == result.calls
    assert sum(t["total"] for t in result.tokens_per_stage.values()) == result.tokens["total"]
