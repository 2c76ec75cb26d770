"""Table 1's judges under protocol 'paper': one call per response and metric, as the authors made, read
with the authors' parsers only (no format reminder, no other score forms); the project's own judges keep
their reminder and their more lenient reading."""

from __future__ import annotations

import json

import pytest

from spri.eval.judging import judge_prompts, rate
from spri.eval.reappraisal import evaluate_reappraisal
from spri.eval.rubric import evaluate_rubric
from spri.jsonl import read_jsonl
from tests.support.fakes import scripted
from tests.support.paper import PRINCIPLE_INSTRUCT

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


async def test_a_live_evaluation_leaves_unparsed_judgments_out_and_says_how_many(tmp_path):
    items = [
        {"id": f"p{i}#dim1", "post": f"POST {i}", "goal": "GOAL", "standards": "STANDARDS", "dimension": "self"}
        for i in (1, 2)
    ]
    posts = tmp_path / "posts.jsonl"
    posts.write_text("".join(json.dumps(item) + "\n" for item in items))

    def judge(messages):
        prompt = messages[-1].text
        if "<score>" in prompt:  # alignment: the second post's judgment spans lines, which the paper never read
            return "<score>\n6\n</score>" if "POST 2" in prompt else "<score>8</score><rationale>ok</rationale>"
        return "Not Harmful" if "Not Harmful" in prompt else "Minor Error" if "Minor Error" in prompt else "4"

    rows = await evaluate_reappraisal(
        str(posts), ["vanilla"], model=scripted(default="REPLY"), judge=scripted(default=judge),
        out_dir=tmp_path / "out", protocol="paper",
    )  # fmt: skip
    (row,) = rows
    assert (row.alignment, row.empathy, row.n, row.unparsed_by_metric) == (8, 4, 2, {"alignment": 1})
    assert [r["judge_calls"] for r in read_jsonl(tmp_path / "out" / "items.jsonl")] == [4, 4]  # no reminders
    report = (tmp_path / "out" / "report.md").read_text()
    assert "Judge outputs that did not parse (left out): vanilla: alignment 1." in report


async def test_a_live_rubric_evaluation_drops_unparsed_judgments_after_one_call_each(tmp_path):
    instance = {
        "capability": "planning", "task": "travel", "instance_idx": 0, "system_prompt": "", "input": "Plan a trip.",
        "reference_answer": "A plan.",
        "score_rubric": {"criteria": "Is it a plan?", **{f"score{i}_description": "-" for i in range(1, 6)}},
    }  # fmt: skip
    instances = tmp_path / "instances.jsonl"
    instances.write_text(json.dumps(instance) + "\n")
    responses = tmp_path / "responses.jsonl"
    responses.write_text(
        "".join(
            json.dumps({"id": "planning_travel_0", "response": f"answer {i}", "human_score": i}) + "\n"
            for i in range(1, 5)
        )
    )

    def judge(messages):  # the third answer's judgment puts spaces in the tag, which the paper never read
        return "<score> 3 </score>" if "answer 3" in messages[-1].text else "<feedback>ok</feedback><score>2</score>"

    base = scripted(default=judge)
    rows = await evaluate_rubric(
        str(instances), str(responses), ["vanilla"], model=base, out_dir=tmp_path / "out", protocol="paper",
        seeds=PRINCIPLE_INSTRUCT,
    )  # fmt: skip
    assert len(base.calls) == 4  # one call per judgment, no reminder
    records = read_jsonl(tmp_path / "out" / "items.jsonl")
    assert sorted((r["human_score"], r["judge_score"], r["calls"]) for r in records) == [
        (1, 2, 1), (2, 2, 1), (3, None, 1), (4, 2, 1),
    ]  # fmt: skip
    (row,) = rows
    assert (row.n, row.unparsed) == (3, 1)  # the unparsed judgment is left out of the correlation, and counted
    report = (tmp_path / "out" / "report.md").read_text()
    assert "| unparsed |" in report and report.rstrip().splitlines()[-1].endswith("| 3 | 1 |")
