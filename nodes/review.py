"""Optional human review of the principles (Context.review_principles): the run pauses after stage 1
with `interrupt()` and continues with the human's decision, given as `Command(resume=...)`.

The interrupt speaks LangChain's human-in-the-loop format (what Agent Chat UI and LangChain's
HumanInTheLoopMiddleware use): its value has ``action_requests`` (one: ``review_principles`` with
``args={"principles": ...}``) and ``review_configs``, and the answer is
``{"decisions": [{"type": "approve"}]}`` or
``{"decisions": [{"type": "edit", "edited_action": {"name": "review_principles", "args": {"principles": "..."}}}]}``.
or ``{"decisions": [{"type": "reject", "message": "..."}]}``: the principles are refined once more with
the message as the feedback, then shown for review again. The short forms ``"approve"`` / ``True`` /
``{"action": "approve"}``, ``{"action": "edit", "principles": "..."}`` and
``{"action": "reject", "message": "..."}`` are accepted too. Anything else is refused: through ``spri.api``
with an error before it is sent, and through the graph itself (LangGraph's server) by asking again with the
reason under ``refused``; either way the thread stays paused and a correct answer still works.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from langgraph.runtime import Runtime
from langgraph.types import Command, interrupt

from spri.state import Context, Critique, InputError, State

ACTION = "review_principles"
ALLOWED: tuple[str, ...] = ("approve", "edit", "reject")
HOW_TO_ANSWER = (
    "answer {'decisions': [{'type': 'approve'}]}, {'decisions': [{'type': 'edit', 'edited_action': "
    "{'name': 'review_principles', 'args': {'principles': '...'}}}]} or {'decisions': [{'type': 'reject', "
    "'message': '...'}]} (short forms: 'approve', {'action': 'edit', 'principles': '...'}, "
    "{'action': 'reject', 'message': '...'})"
)
REJECTED_WITHOUT_REASON = "The reviewer rejected these principles. Write better ones for the same input."


@dataclass(frozen=True)
class Decision:
    kind: Literal["approve", "edit", "reject"]
    principles: str | None = None
    """The reviewer's principles (edit)."""
    message: str | None = None
    """What the reviewer wants changed (reject)."""


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
        if action == "reject":
            return Decision("reject", message=_message(answer.get("message"), answer))
    raise InputError(f"review answer not understood: {HOW_TO_ANSWER} (got {answer!r})")


def _typed(decision: dict[str, Any], answer: Any) -> Decision:
    kind = decision.get("type")
    if kind == "approve":
        return Decision("approve")
    if kind == "edit":
        action = decision.get("edited_action")
        args = action.get("args") if isinstance(action, dict) else None
        return Decision("edit", _principles(args.get("principles") if isinstance(args, dict) else None, answer))
    if kind == "reject":
        return Decision("reject", message=_message(decision.get("message"), answer))
    allowed = ", ".join(ALLOWED)
    raise InputError(f"review decision type must be one of {allowed}; {HOW_TO_ANSWER} (got {answer!r})")


def _principles(text: Any, answer: Any) -> str:
    if not isinstance(text, str) or not text.strip():
        raise InputError(f"an edit needs the new principles as non-empty text (got {answer!r})")
    return text.strip()


def _message(text: Any, answer: Any) -> str | None:
    if text is None or (isinstance(text, str) and not text.strip()):
        return None
    if not isinstance(text, str):
        raise InputError(f"a rejection's message must be text (got {answer!r})")
    return text.strip()


NEXT = Literal["draft_response", "refine_principles"]


def ask_for_decision(request: dict[str, Any]) -> Decision:
    """Pause for the reviewer's decision. A malformed answer is refused by asking again, the refusal (which
    names the answer) under ``refused`` in the new request: LangGraph keeps every answer a node has read,
    so raising instead would leave the bad answer to be read again on every later resume (a server thread
    would stay broken). spri.api refuses bad answers before they are sent, so only clients of the graph
    itself (LangGraph's server, RemoteGraph) see the repeated request."""
    answer = interrupt(request)
    while True:
        try:
            return read_decision(answer)
        except InputError as refused:
            answer = interrupt({**request, "refused": str(refused)})


async def review_principles(state: State, runtime: Runtime[Context]) -> Command[NEXT]:
    request = review_request(state.current("principles"), state.judged("principles"))
    decision = ask_for_decision(request)
    if decision.kind == "approve":
        return Command(goto="draft_response", update={"review": "approved", "review_note": None})
    if decision.kind == "edit":
        update = {"drafts": {"principles": [decision.principles]}, "review": "edited", "review_note": None}
        return Command(goto="draft_response", update=update)
    note = decision.message or REJECTED_WITHOUT_REASON
    return Command(goto="refine_principles", update={"review": "rejected", "review_note": note})
