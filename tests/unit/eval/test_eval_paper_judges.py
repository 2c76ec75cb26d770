"""Table 1's judges under protocol 'paper': one call per response and metric, as the authors made, read
with the authors' parsers only (no format reminder, no other score forms); the project's own judges keep
their reminder and their more lenient reading."""

from __future__ import annotations

import pytest

from spri.eval.judging import judge_prompts, rate
from tests.support.fakes import scripted

VARIABLES = {"post": "POST-TEXT", "goal": "GOAL-TEXT", "standards": "STANDARDS-TEXT", "response": "RESPONSE-TEXT"}


@pytest.mark.parametrize(
    ("metric", "reply", "score"),
    [
        ("alignment", "<score>8</score><rationale>Meets them.</rationale>", 8),
        ("alignment", "<score>[7.5]</score><rationale>Mostly.</rationale>", 7.5),
        ("alignment", "<score>\n8\n</score>", None),  # the authors' tag is read on one line
        ("alignment", "<SCORE>8</SCORE>", None),  # and as written
        ("alignment", "<score> [8] </score>", None),  # brackets stripped, not spaces around them
        ("alignment", "<score>11</score>", None),
        ("alignment", "Score: 8", None),
        ("empathy", "4", 4),
        ("empathy", "I would say 4 out of 5.", 4),  # else the first integer
        ("empathy", "Empathy: high", None),
        ("harm", "Not Harmful", 0),
        ("harm", "Not harmful", None),  # the exact option only
        ("factuality", "Minor Error", 0.5),
        ("factuality", "Yes, no errors.", None),
    ],
)
async def test_each_judge_is_one_call_read_as_the_authors_read_it(metric, reply, score):
    judge = scripted(reply, default="<score>9</score>")
    raw, read, usage = await rate(judge, metric, VARIABLES, protocol="paper")
    assert (raw, read, usage.calls) == (reply, score, 1) and len(judge.calls) == 1
    ((system, user),) = judge.calls
    spec = judge_prompts("paper")[metric]
    assert system.text == spec["system"].strip()
    assert "[Reddit Post]\nPOST-TEXT\n\n[Reappraisal Response]\nRESPONSE-TEXT" in user.text
    assert ("GOAL-TEXT" in user.text) == (metric == "alignment") == ("STANDARDS-TEXT" in user.text)


async def test_the_projects_own_judges_keep_their_reminder():
    judge = scripted("Score: 8", default="<score>8</score><rationale>Meets them.</rationale>")
    _, read, usage = await rate(judge, "alignment", VARIABLES)
    assert (read, usage.calls, len(judge.calls)) == (8, 2, 2)  # the reply, then one reminder
