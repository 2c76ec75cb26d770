"""What the API hands back: a run's :class:`Result`, its progress (:class:`Update`, :class:`Token`)
and a :class:`Thread` read back from its checkpoint database."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from spri.nodes.finalize import spending
from spri.state import Input, Output, State
from spri.threads import Snapshot


class Result(Output):
    """The outcome of a run: the graph's output plus the thread it ran on. ``status`` is "interrupted"
    when the run paused for a human review of the principles (``interrupt`` holds what to review;
    continue with ``run(None, thread_id=..., checkpointer=..., resume="approve" | {...})``) and
    "incomplete" for a thread read back before it finished (``next_steps`` says where it stopped). A run
    that stopped part-way reports the calls and tokens it spent up to its last finished step."""

    thread_id: str | None = None
    status: Literal["done", "interrupted", "incomplete"] = "done"
    interrupt: dict[str, Any] | None = None
    next_steps: list[str] = Field(default_factory=list, description="Steps still to run (unfinished threads).")

    @classmethod
    def of(cls, snapshot: Snapshot) -> Result:
        status: Literal["done", "interrupted", "incomplete"] = "done"
        if snapshot.review is not None:
            status = "interrupted"
        elif snapshot.next:
            status = "incomplete"
        values = snapshot.output().model_dump()
        if snapshot.next:  # stopped part-way (paused, killed, failed): what it spent up to its last step
            values.update(spending(State.model_validate(snapshot.values)))
        return cls(
            **values,
            thread_id=snapshot.thread_id,
            status=status,
            interrupt=snapshot.review,
            next_steps=list(snapshot.next),
        )


class Update(BaseModel):
    """One finished node of a run (from :func:`astream`): a draft, a critique, or the final step."""

    node: str
    stage: str | None = None
    round: int | None = Field(default=None, description="Which critique round of the stage this belongs to.")
    score: int | None = None
    text: str | None = Field(default=None, description="The draft, or the critique's feedback.")
    stop_reason: dict[str, str] | None = None


class Token(BaseModel):
    """A piece of a base-model draft as it is written (from :func:`astream` with ``tokens=True``)."""

    node: str
    stage: str | None = None
    text: str


class Thread(BaseModel):
    """A thread read back from its checkpoint database."""

    input: Input
    result: Result
    settings: dict[str, Any] | None = Field(default=None, description="The Context it was run with, models by name.")
