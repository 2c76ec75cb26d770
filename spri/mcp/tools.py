"""The MCP tools: ``answer``, ``judge`` and ``principles``, each a run through :mod:`spri.api` with the
server's own models, a profile and method from the server's whitelist, a progress notification per
finished step, and any failure as a tool error naming the endpoint or input at fault (never a secret)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from spri.api import METHODS, Result, SpriError, Update, astream, builtin_profiles, compared_in, explain
from spri.server.client_options import check_client_options

Progress = Callable[[float, str], Awaitable[None]]
"""Reports one step of a run: its number and what it did."""


def _described(name: str) -> str:
    return str(Result.model_fields[name].description or "")


class Message(BaseModel):
    """One turn of a conversation."""

    role: Literal["user", "assistant", "system"]
    content: str


Profile = Annotated[
    str | None,
    Field(
        description="A built-in task profile (default 'general'); 'reappraisal' also needs a goal.",
        json_schema_extra={"enum": [*builtin_profiles(), None]},
    ),
]
Method = Annotated[
    str | None,
    Field(
        description="How to answer (default 'spri': principles, then a response that follows them). "
        + "; ".join(f"'{name}': {plan.description}" for name, plan in METHODS.items() if not plan.paper_only),
        json_schema_extra={"enum": [*(n for n, p in METHODS.items() if not p.paper_only), None]},
    ),
]
Query = Annotated[str | None, Field(description="The question or request to answer.")]
Conversation = Annotated[
    list[Message] | None,
    Field(description="The conversation so far, oldest first; its last user turn is answered (instead of query)."),
]
Goal = Annotated[
    str | None, Field(description="What the response should achieve (the 'reappraisal' profile needs it).")
]


class Answer(BaseModel):
    """What ``answer`` returns besides its text."""

    response: str = Field(description=_described("response"))
    principles: str | None = Field(default=None, description=_described("principles"))
    scores: dict[str, int | float | None] = Field(description="The critic's last score (1-5) per stage.")
    stop_reason: dict[str, str] = Field(description=_described("stop_reason"))
    calls: int = Field(description=_described("calls"))
    thread_id: str | None = Field(default=None, description="The run's thread id (in traces and logs).")
    profile: str | None = None
    method: str | None = None


class Judgment(BaseModel):
    """What ``judge`` returns besides its text."""

    score: int | float | None = Field(description=_described("score"))
    feedback: str | None = Field(description=_described("feedback"))
    rubric: str | None = Field(description=_described("rubric"))
    stop_reason: dict[str, str] = Field(description=_described("stop_reason"))
    calls: int = Field(description=_described("calls"))
    thread_id: str | None = None


class Principles(BaseModel):
    """What ``principles`` returns besides its text."""

    principles: str = Field(description="The principles the critic accepted (or the last refinement).")
    score: int | float | None = Field(description="The critic's last score of them (1-5).")
    feedback: str | None = Field(description="The critic's last feedback on them.")
    calls: int = Field(description=_described("calls"))
    thread_id: str | None = None


def step_message(update: Update) -> str:
    """One finished step, in a line: 'judge_principles: principles, round 1, score 2'."""
    parts = [p for p in (update.stage, f"round {update.round}" if update.round else None) if p]
    if update.score is not None:
        parts.append(f"score {update.score}")
    if update.stop_reason:
        parts.append(", ".join(f"{stage} {why}" for stage, why in update.stop_reason.items()))
    return f"{update.node}: {', '.join(parts)}" if parts else update.node


async def run_reporting(
    progress: Progress, inputs: Mapping[str, Any], options: Mapping[str, Any], **run: Any
) -> Result:
    """Run SPRI on ``inputs`` with whitelisted ``options``, reporting each finished step; failures come
    back as :class:`ToolFailed` with one line naming what is at fault."""
    try:
        checked = check_client_options({k: v for k, v in options.items() if v is not None})
        result: Result | None = None
        step = 0
        async for item in astream(dict(inputs), **run, **checked):
            if isinstance(item, Update):
                step += 1
                await progress(step, step_message(item))
            else:
                result = item
    except Exception as exc:
        raise ToolFailed(explain(exc)[0]) from exc
    assert result is not None
    return result


class ToolFailed(SpriError):
    """A tool call that failed: the message says why (the endpoint, setting or input at fault)."""


def conversation_input(query: str | None, messages: list[Message] | None) -> dict[str, Any]:
    if messages:
        return {"messages": [m.model_dump() for m in messages]}
    if not query or not query.strip():
        raise ToolFailed("give a query, or messages whose last user turn has text")
    return {"query": query}


async def answer(
    progress: Progress,
    query: str | None,
    messages: list[Message] | None,
    profile: str | None,
    method: str | None,
    goal: str | None,
) -> Answer:
    inputs = {**conversation_input(query, messages), **({"goal": goal} if goal else {})}
    result = await run_reporting(progress, inputs, {"profile": profile, "method": method})
    return Answer(
        response=result.response or "",
        principles=result.principles,
        scores=result.final_scores,
        stop_reason=dict(result.stop_reason),
        calls=result.calls,
        thread_id=result.thread_id,
        profile=result.profile,
        method=result.method,
    )


JUDGING_METHODS = compared_in("rubric")
"""The methods a judgment can use (those the rubric evaluation compares)."""


async def judge(
    progress: Progress,
    query: str,
    response: str,
    reference: str | None,
    system_prompt: str | None,
    method: str | None,
) -> Judgment:
    if method is not None and method not in JUDGING_METHODS:
        raise ToolFailed(f"method for judge must be one of {', '.join(JUDGING_METHODS)}")
    given = {"reference": reference, "system_prompt": system_prompt}
    inputs = {"query": query, "response_to_judge": response, **{k: v for k, v in given.items() if v}}
    result = await run_reporting(progress, inputs, {"profile": "rubric", "method": method})
    return Judgment(
        score=result.score,
        feedback=result.feedback,
        rubric=result.rubric or result.principles,
        stop_reason=dict(result.stop_reason),
        calls=result.calls,
        thread_id=result.thread_id,
    )


async def principles(
    progress: Progress, query: str | None, messages: list[Message] | None, profile: str | None, goal: str | None
) -> Principles:
    """Stage 1 alone: the run pauses for a review of its principles (an in-memory thread), and is left
    there."""
    inputs = {**conversation_input(query, messages), **({"goal": goal} if goal else {})}
    options = {"profile": profile, "method": "spri", "review_principles": True}
    result = await run_reporting(progress, inputs, options, checkpointer="memory")
    review = result.interrupt or {}
    return Principles(
        principles=str(review.get("principles") or ""),
        score=review.get("score"),
        feedback=review.get("feedback"),
        calls=result.calls,
        thread_id=result.thread_id,
    )
