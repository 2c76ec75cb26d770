"""One table of methods (spri.state.methods.METHODS): a row added there, and nowhere else, is accepted,
offered and routed everywhere, as ARCHITECTURE.md says."""

from __future__ import annotations

import asyncio

import pytest

from spri import Context, SpriError, arun
from spri.state import METHODS, MethodPlan, compared_in, plan_for
from spri.state.methods import method_help
from tests.support.fakes import critique, is_critic_prompt, scripted

DUMMY = "two-passes"


@pytest.fixture
def dummy_method(monkeypatch):
    """A method with an existing call structure: a first draft and two fixed-request passes, no critic;
    compared in the reappraisal evaluation."""
    plan = MethodPlan("none", "none", passes=2, description="a draft and two passes", evaluations=("reappraisal",))
    monkeypatch.setitem(METHODS, DUMMY, plan)
    return plan


def test_context_accepts_a_method_of_the_table_and_refuses_others(dummy_method):
    assert Context(method=DUMMY).method == DUMMY
    with pytest.raises(ValueError, match=r"unknown method 'no-such-method'; choose from .*two-passes"):
        Context(method="no-such-method")


def test_the_command_line_offers_it_with_its_help(dummy_method):
    from spri.cli.parsers import build_parser
    from spri.options import context_overrides, run_options

    parser = build_parser()
    args = parser.parse_args(["ask", "--method", DUMMY, "Q?"])
    assert context_overrides(args, run_options())["method"] == DUMMY
    (method,) = run_options(["method"])
    assert DUMMY in method.choices and "'two-passes': a draft and two passes" in method.help
    with pytest.raises(SystemExit):
        parser.parse_args(["ask", "--method", "no-such-method", "Q?"])


def test_studio_and_the_server_see_it(dummy_method):
    schema = Context.model_json_schema()["properties"]["method"]
    assert DUMMY in schema["enum"] and DUMMY in schema["description"]
    from spri.server.client_options import check_client_options

    assert check_client_options({"method": DUMMY}) == {"method": DUMMY}


async def test_the_graph_routes_it_by_its_row(dummy_method):
    model = scripted(default=lambda m: critique(5) if is_critic_prompt(m) else "A DRAFT")
    result = await arun("How do I start journaling?", model=model, method=DUMMY)
    assert result.calls == 3 and len(result.drafts["response"]) == 3  # a draft and two passes
    assert result.stop_reason == {"response": "not_judged"} and not any(map(is_critic_prompt, model.calls))


def test_the_evaluations_compare_it(dummy_method, tmp_path):
    from spri.eval.cli import LIVE_OPTIONS
    from spri.eval.methods import compared, rank
    from spri.eval.reappraisal import evaluate_reappraisal

    assert compared_in("reappraisal")[-1] == DUMMY and DUMMY not in compared_in("rubric")
    assert compared("reappraisal") == ("vanilla", "self-refine", "spri", DUMMY, "oracle")
    assert rank("self-refine", "reappraisal") < rank(DUMMY, "reappraisal") < rank("oracle", "reappraisal")
    assert "random_pick" in LIVE_OPTIONS and "method" not in LIVE_OPTIONS  # run options come from Context
    with pytest.raises(SpriError, match=r"unknown method.*choose from vanilla, self-refine, spri, two-passes"):
        run = evaluate_reappraisal("posts.jsonl", ["no-such-method"], out_dir=str(tmp_path), model="m", judge="m")
        asyncio.run(run)


def test_every_method_has_a_description_and_its_paper_row():
    assert all(plan.description for plan in METHODS.values())
    assert plan_for("self-refine", "paper").passes == 5 and plan_for("self-refine", "default").passes == 0
    assert plan_for("spri", "paper") is METHODS["spri"]
    assert "'self-refine': Self-Refine" in method_help() and "(protocol paper: a draft and 5" in method_help()
