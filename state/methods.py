"""The methods: one table, :data:`METHODS`, that everything reads.

A method is a row saying how it runs (a :class:`MethodPlan`, which the graph's routers and nodes read,
never the method's name), how it runs under protocol 'paper' where that differs, and which evaluations
compare it. From the table come the ``method`` field of :class:`~spri.state.Context` (its validation, its
choices on the command line, in the server's whitelist and in Studio, and its help), the routing of a
run, profiles' method aliases (checked against it) and the methods ``spri eval`` compares. Adding a
row here is all a new method with an existing call structure needs.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, NamedTuple

from pydantic import AfterValidator, Field

PrinciplesSource = Literal["draft", "input", "seeds", "seed-random", "seed-list", "seed-sequence", "generic", "none"]
ResponseCritic = Literal["critic", "base", "none"]
Evaluation = Literal["rubric", "reappraisal"]


class MethodPlan(NamedTuple):
    """How a method runs; the graph's routers and nodes read this row, never method names."""

    principles: PrinciplesSource
    """Where the principles the response follows come from: stage 1 ('draft'), the input, the seed
    example of the input's category ('seeds'), one seed example picked at random ('seed-random'), every
    seed example as a numbered list ('seed-list'), the seed examples in file order up to the input's
    category, applied one per pass ('seed-sequence'), the profile's generic principles, or nowhere."""
    critic: ResponseCritic = "critic"
    """Who judges the response stage: the critic model, the base model itself, or nobody."""
    passes: int = 0
    """Unjudged stage: how many refinement passes follow the first draft (each with the profile's
    fixed request; 'seed-sequence' makes one pass per further principle instead)."""
    refine_last: bool = False
    """Judged stage: refine once more after the last critique if it did not accept (that refinement
    is not judged again)."""
    generic: str | None = None
    """For principles='generic': which of the profile's generic principles (e.g. 'mt-bench')."""
    prompts: str = ""
    """Which variant of the profile's response templates the method uses ('' = the stage's own)."""
    paper_only: bool = False
    """Runs only under protocol 'paper' (its templates exist only in the paper's profiles)."""
    description: str = ""
    """What the method is, in the paper's terms: the ``method`` option's help (e.g. in Studio)."""
    reading: str = ""
    """Judged stage: how its critiques are read (a name in ``spri.models.READINGS``; '' = the profile's)."""
    unreadable: Literal["stop", "refine"] = "stop"
    """Judged stage: after a critique with no readable score, stop ('critic_unparseable') or refine as
    after a low score, up to ``max_rounds`` critiques."""
    under_paper: MethodPlan | None = None
    """How it runs under protocol 'paper' where its call structure differs there (None: the same row)."""
    evaluations: tuple[Evaluation, ...] = ()
    """The evaluations (``spri eval rubric``, ``spri eval reappraisal``) that compare it with the others,
    which list their methods in this table's order."""
    significance_mark: str = ""
    """A baseline of the paper's significance tests (Table 1): the mark a method that beats it gets."""


BOTH: tuple[Evaluation, ...] = ("rubric", "reappraisal")


def paper_only(
    principles: PrinciplesSource, prompts: str, description: str, critic: ResponseCritic = "none", **plan: Any
) -> MethodPlan:
    """A method of the paper's own profiles only (its templates exist only there): by default one call
    with no critic."""
    return MethodPlan(principles, critic, prompts=prompts, paper_only=True, description=description, **plan)


# fmt: off
METHODS: dict[str, MethodPlan] = {
    "vanilla": MethodPlan(
        "none", "none", description="direct response (or direct judgment), no critic", evaluations=BOTH,
        significance_mark="*",
        under_paper=MethodPlan("none", "none", prompts="baseline", description="the baseline prompt, one call")),
    "self-refine": MethodPlan(
        "none", description="Self-Refine: response, critique without principles, refine", evaluations=BOTH,
        significance_mark="†",
        under_paper=MethodPlan("none", "none", passes=5, prompts="baseline",
                               description="a draft and 5 passes with a fixed request, no critic")),
    "mt-bench-rubric": MethodPlan(
        "generic", generic="mt-bench", description="one generic MT-Bench-style rubric", evaluations=("rubric",),
        under_paper=MethodPlan("none", "none", prompts="mt-bench", description="the MT-Bench judge prompt, one call")),
    "flask-rubric": MethodPlan(
        "generic", generic="flask", description="FLASK-style skill rubrics for the category", evaluations=("rubric",),
        under_paper=MethodPlan("generic", "none", generic="flask", description="the FLASK skill rubric, one call")),
    "seed-rubric": MethodPlan(
        "seeds", description="rubric ablation: the seed example of the input's category", evaluations=("rubric",),
        under_paper=MethodPlan("seed-random", "none", prompts="baseline",
                               description="one random seed principle, one call")),
    "spri": MethodPlan("draft", description="SPRI: both stages, principles situated to the input", evaluations=BOTH),
    "fixed-principles": MethodPlan(
        "input", description="oracle / constitutional principles given with the input",
        under_paper=MethodPlan("input", "none", prompts="baseline", description="one call with the given principles")),
    "sequential-principles": paper_only("seed-sequence", "baseline", "oracle principles in turn (RESORT), no critic"),
    "seed-principles": paper_only("seed-list", "seed-principles", "every seed principle as one rule list (Table 4)"),
    "self-instruct": paper_only("none", "self-instruct", "Self-Instruct few-shot response, one call"),
    "self-align": paper_only("none", "self-align", "Self-Align rules + demonstrations, one call"),
    "self-feedback": paper_only(
        "none", "self-feedback", critic="base", refine_last=True, reading="paper-self-critique", unreadable="refine",
        description="the base model scores and critiques its own response, then refines (Table 4 self-refine)"),
}
# fmt: on
"""Every method, in the order the paper's tables list them (the command line's choices, too)."""


def plan_for(method: str, protocol: str) -> MethodPlan:
    """The row a method runs under a protocol."""
    plan = METHODS[method]
    return (plan.under_paper or plan) if protocol == "paper" else plan


def compared_in(evaluation: Evaluation) -> tuple[str, ...]:
    """The methods an evaluation compares, in the table's order."""
    return tuple(name for name, plan in METHODS.items() if evaluation in plan.evaluations)


def method_help() -> str:
    """Every method and what it is (and runs under protocol 'paper', where that differs)."""

    def one(name: str, plan: MethodPlan) -> str:
        paper = f" (protocol paper: {plan.under_paper.description})" if plan.under_paper else ""
        return f"'{name}': {plan.description}{paper}"

    return "; ".join(one(name, plan) for name, plan in METHODS.items()) + "."


def _known(name: str) -> str:
    if name not in METHODS:
        raise ValueError(f"unknown method {name!r}; choose from {', '.join(METHODS)}")
    return name


def _choices(schema: dict[str, Any]) -> None:
    """The field's JSON schema names the table's methods as they are when it is made."""
    schema["enum"] = list(METHODS)
    schema["description"] = method_help()


Method = Annotated[str, AfterValidator(_known), Field(json_schema_extra=_choices)]
"""A method's name: one of :data:`METHODS` (checked when a Context is made, so a method added to the
table is accepted, offered and described everywhere without another change)."""
