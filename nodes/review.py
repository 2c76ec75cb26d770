"""Optional human review of the principles (Context.review_principles): the run pauses after stage 1
with `interrupt()` and continues with the human's decision, given as `Command(resume=...)`.

The interrupt speaks LangChain's human-in-the-loop format (what Agent Chat UI and LangChain's
HumanInTheLoopMiddleware use): its value has ``action_requests`` (one: ``review_principles`` with
``args={"principles": ...}``) and ``review_configs``, and the answer is
``{"decisions": [{"type": "approve"}]}`` or
``{"decisions": [{"type": "edit", "edited_action": {"name": "review_principles", "args": {"principles": "..."}}}]}``.
The short forms ``"approve"`` / ``True`` / ``{"action": "approve"}`` and
``{"action": "edit", "principles": "..."}`` are accepted too. Anything else is refused (and, through
``spri.api``, refused before it is stored, so the thread stays paused and a correct answer still works).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from langgraph.runtime import Runtime
from langgraph.types import interrupt

from spri.state import Context, Critique, InputError, State

ACTION = "review_principles"
ALLOWED: tuple[str, ...] = ("approve", "edit")
HOW_TO_ANSWER = (
    "answer {'decisions': [{'type': 'approve'}]} or {'decisions': [{'type': 'edit', 'edited_action': "
    "{'name': 'review_principles', 'args': {'principles': '...'}}}]} (short forms: 'approve', "
    "{'action': 'edit', 'principles': '...'})"
)


@dataclass(frozen=True)
class Decision:
    kind: Literal["approve", "edit"]
    principles: str | None = None
    """The reviewer's principles (edit)."""


def review_request(principles: str | None, critique: Critique | None) -> dict[str, Any]:
    """The interrupt's value: the human-in-the-loop request, plus the principles, the critic's score and
    feedback at the top level for simple clients."""
    score = critique.score if critique else None
    verdict = f"The critic scored them {score}/5: {critique.feedback}" if critique and score else "Not judged."
    return {
        "action_requests": [
            {
                "name": ACTION,
                "args": {"principles": principles or ""},
                "description": f"Review the principles the response will follow. {verdict}",
            }
        ],
        "review_configs": [{"action_name": ACTION, "allowed_decisions": list(ALLOWED)}],
        "principles": principles,
        "score": score,
        "feedback": critique.feedback if critique else None,
        "how_to_resume": HOW_TO_ANSWER,
    }


def read_decision(answer: Any) -> Decision:
    """The reviewer's decision, from the human-in-the-loop format or a short form; anything else is an
    InputError that says what to send."""
    if isinstance(answer, dict) and "decisions" in answer:
        decisions = answer["decisions"]
        if not isinstance(decisions, list) or len(decisions) != 1 or not isinstance(decisions[0], dict):
            raise InputError(f"review answer needs exactly one decision; {HOW_TO_ANSWER} (got {answer!r})")
        return _typed(decisions[0], answer)
    if answer is True or (isinstance(answer, str) and answer.strip().lower() in ("approve", "approved")):
        return Decision("approve")
    if isinstance(answer, dict) and "action" in answer:
        action = str(answer["action"]).strip().lower()
        if action in ("approve", "approved"):
            return Decision("approve")
        if action == "edit":
            return Decision("edit", _principles(answer.get("principles"), answer))
    raise InputError(f"review answer not understood: {HOW_TO_ANSWER} (got {answer!r})")


def _typed(decision: dict[str, Any], answer: Any) -> Decision:
    kind = decision.get("type")
    if kind == "approve":
        return Decision("approve")
    if kind == "edit":
        action = decision.get("edited_action")
        args = action.get("args") if isinstance(action, dict) else None
        return Decision("edit", _principles(args.get("principles") if isinstance(args, dict) else None, answer))
    allowed = ", ".join(ALLOWED)
    raise InputError(f"review decision type must be one of {allowed}; {HOW_TO_ANSWER} (got {answer!r})")


def _principles(text: Any, answer: Any) -> str:
    if not isinstance(text, str) or not text.strip():
        raise InputError(f"an edit needs the new principles as non-empty text (got {answer!r})")
    return text.strip()


async def review_principles(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    decision = read_decision(interrupt(review_request(state.current("principles"), state.last_critique("principles"))))
    if decision.kind == "approve":
        return {"review": "approved"}
    return {"drafts": {"principles": [decision.principles]}, "review": "edited"}
