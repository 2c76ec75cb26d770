"""Meta-evaluation tables on small synthetic judgments: unparsed judgments are counted, never dropped,
and the paper's row order holds in every layout."""

from __future__ import annotations

import csv
import json
import math

from spri.cli import main
from spri.eval.meta import meta_table
from spri.eval.report import text_table
from spri.eval.rubric import evaluate_rubric
from spri.jsonl import read_jsonl
from tests.support.fakes import scripted
from tests.support.paper import SYNTHETIC


def judgments(judge_model: str, method: str, scores: list[str]) -> list[dict[str, str]]:
    """One judgment per human score 1..5 of two capabilities, the judge's scores as given ('' = unparsed)."""
    rows = []
    for capability in ("reasoning", "planning"):
        for human, judged in enumerate(scores, 1):
            row = {"judge_model": judge_model, "method": method, "id": f"{capability}_{human}"}
            rows.append({**row, "capability": capability, "human_score": str(human), "judge_score": judged})
    return rows


def test_a_method_whose_scores_never_parse_keeps_its_row_with_the_count():
    rows = judgments("m", "vanilla", ["1", "2", "3", "4", "5"]) + judgments("m", "spri", ["", "", "x", "", ""])
    rows += judgments("m", "self-refine", ["1", "", "3", "5", "4"])
    table = {r.method: r for r in meta_table(rows)}
    assert list(table) == ["vanilla", "self-refine", "spri"]
    assert (table["spri"].n, table["spri"].unparsed) == (0, 10) and math.isnan(table["spri"].pearson)
    assert (table["self-refine"].n, table["self-refine"].unparsed) == (8, 2)
    assert (table["vanilla"].n, table["vanilla"].unparsed) == (10, 0) and math.isclose(table["vanilla"].pearson, 1)
    spri_line = text_table(list(table.values()), ("method", "pearson", "n", "unparsed")).splitlines()[-1]
    assert spri_line.split() == ["spri", "-", "0", "10"]


async def test_a_live_rubric_evaluation_keeps_a_method_the_judge_never_scored(tmp_path):
    instance = json.loads(SYNTHETIC.path("instances").read_text().splitlines()[0])
    key = f"{instance['capability']}_{instance['task']}_{instance['instance_idx']}"
    responses = tmp_path / "responses.jsonl"
    responses.write_text(
        "".join(json.dumps({"id": key, "response": f"answer {s}", "human_score": s}) + "\n" for s in (2, 4))
    )

    def reply(messages):  # scores only the plain judgments; the MT-Bench judge's answers never parse
        shown = "\n".join(m.text for m in messages)
        return "no score here" if "Criterion: Overall quality" in shown else "Feedback: Fine.\nScore: 3"

    table = await evaluate_rubric(
        str(SYNTHETIC.path("instances")), str(responses), ["vanilla", "mt-bench-rubric"],
        model=scripted(default=reply), out_dir=tmp_path / "out",
    )  # fmt: skip
    assert [(r.method, r.n, r.unparsed) for r in table] == [("vanilla", 2, 0), ("mt-bench-rubric", 0, 2)]
    report = (tmp_path / "out" / "report.md").read_text()
    assert "| ScriptedChatModel:scripted | mt-bench-rubric | - | - | - | - | 0 | 2 |" in report
    assert len(read_jsonl(tmp_path / "out" / "items.jsonl")) == 4


def test_the_pivot_lists_methods_in_the_papers_row_order(tmp_path, capsys):
    rows = judgments("a-judge", "oracle rubrics", ["1", "2", "3", "4", "5"])  # this judge has no MT-Bench row
    rows += judgments("a-judge", "vanilla", ["2", "2", "3", "4", "5"])
    rows += judgments("b-judge", "mt-bench rubric", ["1", "3", "3", "4", "5"])
    rows += judgments("b-judge", "flask rubric", ["1", "2", "4", "4", "5"])
    rows += judgments("b-judge", "self-refine", ["1", "2", "3", "5", "5"])
    path = tmp_path / "judgments.csv"
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    assert main(["eval", "meta", str(path)]) == 0
    pivot = capsys.readouterr().out.split("Table 2 layout):")[1].strip().splitlines()[2:]
    order = [line.split(" | ")[0].strip("| ") for line in pivot]
    assert order == ["vanilla", "self-refine", "mt-bench rubric", "flask rubric", "oracle rubrics"]
