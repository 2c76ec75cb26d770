"""How the embedded model writes drafts so that a 135M model's output stays clean.

- Every draft bans repeated token 4-grams (:class:`NoRepeatNGram`) and 5-grams of what it was shown
  as instructions, examples or feedback (the system message, the feedback it answers, the critic's
  feedback sentences), and a revision samples with a new seed (at temperature 0.2 and one seed, a
  revision is otherwise often the same text again).
- The system message loses the seed examples whose request does not fit this one (``system``: the
  message as rendered and as shown; spri.models.embedded.call_options decides).
- A free-text response is capped at ``response_tokens``, must not copy 5-grams of its principles, and
  is trimmed to its last full sentence (``trimmed`` in the reply's metadata says so).
- Where the response follows principles, they go into the system message as notes and the user turn
  holds the request alone; a revision is a fresh draft with the principles the feedback names as most
  important (a 135M model asked to revise a text writes about the text: "Here's a rewritten version").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from spri.models.embedded.critic import feedback_sentences, prompts
from spri.models.embedded.subject import Subject
from spri.models.embedded.text import NoRepeatNGram, clean_response

_NAMED_PRINCIPLE = re.compile(r'principle \d+ \("(.+?)"\)')


def draft_options(grammar: str, slot: str, subject: Subject | None) -> dict[str, Any]:
    """Call options of a draft: its grammar and slot, and what the cleaning below needs to know."""
    options: dict[str, Any] = {"slot": slot, "clean": True}
    if grammar:
        options["grammar"] = grammar
    if subject is not None and subject.feedback:
        options["feedback"] = subject.feedback
    if subject is not None and subject.stage == "response" and not grammar:
        options["response"] = True
        if subject.principles and subject.query:
            options["notes"] = subject.principles
            options["request"] = subject.query
            options["emphasis"] = emphasis(subject.feedback) if subject.draft else ""
    return options


def emphasis(feedback: str | None) -> str:
    """The principles the feedback names as least covered, or the feedback itself."""
    if not feedback:
        return ""
    named = _NAMED_PRINCIPLE.findall(feedback)
    return " ".join(named) if named else feedback.strip()


@dataclass
class DraftPlan:
    """The chat, token budget, seed and logits processors of one draft, and how its text is finished."""

    chat: list[dict[str, str]]
    max_tokens: int
    seed: int
    processors: list[Any] = field(default_factory=list)
    response: bool = False

    def finish(self, text: str) -> tuple[str, bool]:
        """(the text to return, whether it was trimmed)."""
        if not self.response:
            return text, False
        cleaned = clean_response(text)
        return cleaned, cleaned != text.strip()


def plan_draft(
    llm: Any, chat: list[dict[str, str]], options: dict[str, Any], *, max_tokens: int, seed: int, response_tokens: int
) -> DraftPlan:
    """The plan of a draft called with ``options`` (from :func:`draft_options`); a call without
    ``clean`` (a verdict) runs as asked."""
    if not options.get("clean"):
        return DraftPlan(chat, max_tokens, seed)
    revision = sum(m["role"] == "assistant" for m in chat)
    plan = DraftPlan(_shown_system(chat, options), max_tokens, seed + revision, response=bool(options.get("response")))
    if plan.response:
        plan.max_tokens = min(max_tokens, response_tokens)
        notes = options.get("notes")
        if notes:
            plan.chat = notes_chat(str(notes), str(options.get("request") or ""), str(options.get("emphasis") or ""))
    avoid = [m["content"] for m in plan.chat if m["role"] == "system"]
    avoid += [str(options.get("feedback") or ""), *feedback_sentences()]
    source = list(llm.tokenize("\n".join(avoid).encode(), add_bos=False, special=False))
    plan.processors = [NoRepeatNGram(None, 4, source, 5)]
    return plan


def _shown_system(chat: list[dict[str, str]], options: dict[str, Any]) -> list[dict[str, str]]:
    """The chat with the system message as it is to be shown, where it is the one rendered."""
    rendered, shown = options.get("system") or ("", "")
    if chat and chat[0]["role"] == "system" and rendered and chat[0]["content"] == rendered:
        return [{"role": "system", "content": shown}, *chat[1:]]
    return chat


def notes_chat(notes: str, request: str, points: str) -> list[dict[str, str]]:
    table = prompts()["notes"]
    system = table["system"].strip().replace("{notes}", notes)
    if points:
        system += "\n" + table["emphasis"].replace("{points}", points)
    return [{"role": "system", "content": system}, {"role": "user", "content": request}]
