"""What every surface reports as a run's scores: the last critique's score of each critiqued stage."""

from __future__ import annotations

from spri.state.state import Critique, Output


def test_final_scores_are_each_stages_last_critique():
    output = Output(
        critiques={
            "principles": [Critique(score=2), Critique(score=4)],
            "response": [Critique(score=5), Critique(score=None)],
        }
    )
    assert output.final_scores == {"principles": 4, "response": None}


def test_a_stage_without_critiques_has_no_score():
    assert Output(critiques={"principles": [Critique(score=3)], "response": []}).final_scores == {"principles": 3}
    assert Output().final_scores == {}
