"""A conversation given with a run: its turns as plain ``{role, content}`` data, which turn is the
query, and the earlier turns as prompts show them (bounded by a character budget, oldest cut first).

Turns are kept as plain dicts so a checkpoint holds no message objects; LangChain messages,
``{role, content}`` or ``{type, content}`` dicts and ``(role, content)`` pairs all come in as turns.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Literal

from typing_extensions import TypedDict  # pydantic validates this one on Python 3.11

Role = Literal["user", "assistant", "system", "tool"]

ROLES: dict[str, Role] = {
    "user": "user",
    "human": "user",
    "assistant": "assistant",
    "ai": "assistant",
    "system": "system",
    "developer": "system",
    "tool": "tool",
    "function": "tool",
}
"""The role names the chat formats use (OpenAI's, LangChain's message types), and which role each is."""


LABELS: dict[str, str] = {"user": "User", "assistant": "Assistant", "system": "System", "tool": "Tool"}

LEFT_OUT = "[{count} earlier turn{s} left out]"
"""The marker put before the turns shown when the oldest ones did not fit the budget."""


class Turn(TypedDict):
    """One message of a conversation."""

    role: Role
    content: str


def _text(content: Any) -> str:
    """A message's content as text: a string, or the text blocks of a list of content blocks."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        pieces = [block if isinstance(block, str) else block.get("text", "") for block in content]
        return "".join(piece for piece in pieces if isinstance(piece, str))
    if content is None:
        return ""
    raise ValueError(f"content that is no text ({type(content).__name__})")


def as_turn(message: Any) -> Turn:
    """One message (a LangChain message, a ``{role|type, content}`` mapping or a ``(role, content)``
    pair) as a :class:`Turn`; ValueError saying what is wrong with it (its text starts with a verb, so
    a caller can put what names the message first)."""
    if isinstance(message, tuple | list) and len(message) == 2:
        role, content = message
    elif isinstance(message, dict):
        role, content = message.get("role") or message.get("type"), message.get("content")
    elif hasattr(message, "type") and hasattr(message, "content"):
        role, content = message.type, message.content
    else:
        raise ValueError("is no message: give {role, content} (or a LangChain message)")
    known = ROLES.get(str(role).lower()) if role is not None else None
    if known is None:
        raise ValueError(f"has role {role!r}: use one of user, assistant, system, tool")
    try:
        return {"role": known, "content": _text(content)}
    except ValueError as exc:
        raise ValueError(f"has {exc}") from None


def as_turns(messages: Iterable[Any]) -> list[Turn]:
    """Every message as a :class:`Turn`, in order; ValueError naming the first that is none."""
    if isinstance(messages, str | bytes) or not isinstance(messages, Iterable):
        raise ValueError("messages must be a list of messages ({role, content})")
    turns = []
    for index, message in enumerate(messages):
        try:
            turns.append(as_turn(message))
        except ValueError as exc:
            raise ValueError(f"message {index + 1} {exc}") from None
    return turns


def _last_user_index(turns: Sequence[Turn]) -> int | None:
    """Where the last user turn that has text is: the turn a conversation asks."""
    return next(
        (i for i in reversed(range(len(turns))) if turns[i]["role"] == "user" and turns[i]["content"].strip()), None
    )


def last_user_text(turns: Sequence[Turn]) -> str | None:
    """The text of the last user turn that has any, the query of a conversation."""
    last = _last_user_index(turns)
    return None if last is None else turns[last]["content"]


def earlier_turns(turns: Sequence[Turn] | None, query: str | None) -> list[Turn]:
    """The turns before the one being answered: those before the last user turn when it is the query,
    else (a query given apart from the conversation) all of them. Turns without text are left out."""
    turns = list(turns or ())
    last = _last_user_index(turns)
    if last is not None and query is not None and turns[last]["content"].strip() == query.strip():
        turns = turns[:last]
    return [turn for turn in turns if turn["content"].strip()]


def _shown(turn: Turn) -> str:
    return f"{LABELS[turn['role']]}: {turn['content'].strip()}"


def bounded(turns: Sequence[Turn], budget: int) -> str:
    """The turns as prompt text, one ``Role: text`` block each, keeping the newest that fit in
    ``budget`` characters (a newest turn longer than the budget keeps its end); when older turns are
    left out, a marker saying how many comes first (and is not counted in the budget)."""
    shown: list[str] = []
    used = 0
    for turn in reversed(turns):
        text = _shown(turn)
        cost = len(text) + (2 if shown else 0)
        if used + cost > budget:
            if not shown and budget > 0:  # the newest turn alone is too long: keep its end
                shown.append("…" + text[len(text) - budget + 1 :] if budget > 1 else text[-budget:])
            break
        shown.append(text)
        used += cost
    left_out = len(turns) - len(shown)
    marker = [LEFT_OUT.format(count=left_out, s="" if left_out == 1 else "s")] if left_out else []
    return "\n\n".join([*marker, *reversed(shown)])
