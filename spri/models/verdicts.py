"""Verdicts (feedback + score 1-5) from any model, read the best way the model allows.

In order of preference: structured output by function calling, a verdict the model reports in its
reply's metadata (a model that reads verdicts its own way, such as the embedded model), or free text
parsed by :mod:`spri.models.parsing`. A verdict
with no readable score is asked for once more with a format reminder (:func:`with_reminder`, also
used by the evaluation judges) unless the reading says not to (the paper's judges); after that it stays
unreadable and the caller decides. :data:`READINGS` names the ways a profile or method can ask for.
"""

from __future__ import annotations

import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any, Generic, TypeVar

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.runnables import Runnable
from pydantic import BaseModel, Field, ValidationError

from spri.models.calls import call_config, generate, text_of, usage_of
from spri.models.parsing import DEFAULT_FORMS, PAPER_CRITIC, parse_critique
from spri.models.sites import CallSite, for_call
from spri.state import Critique, Usage
from spri.state.context import ModelSpec
from spri.state.rendering import Shown

FORMAT_REMINDER = (
    "Your reply did not end with a score I could read. Answer again, in exactly this format:\n"
    "Feedback: <one short paragraph>\n"
    "Score: <one digit from 1 to 5>"
)

T = TypeVar("T")

VERDICT_METADATA = "spri_verdict"
"""The reply's ``response_metadata`` key under which a model reports a verdict it read its own way (a
dumped Critique); such a verdict is taken as it is."""


@dataclass(frozen=True)
class Reading:
    """How a verdict is asked for and read: by tool call where the model supports it (else the text
    is parsed), whether decimal scores are kept, the format reminder (default: FORMAT_REMINDER), the
    score marker forms a free-text verdict is read in (``spri.models.parsing.FORMS``), whether the first
    marker in their order counts rather than the final one, how the feedback is taken
    (``spri.models.parsing.FEEDBACK``), and whether an unreadable verdict is asked for once more."""

    tools: bool = True
    decimals: bool = False
    reminder: str = ""
    forms: tuple[str, ...] = DEFAULT_FORMS
    first: bool = False
    feedback: str = "clean"
    retry: bool = True


READINGS: dict[str, Reading] = {
    "default": Reading(),
    "paper-critic": Reading(tools=False, forms=PAPER_CRITIC, first=True, feedback="before-result"),
    "paper-self-critique": Reading(
        tools=False, forms=("paper-self-refine",), first=True, feedback="whole", retry=False
    ),
    "paper-judgment": Reading(tools=False, forms=("paper-tag",), first=True, retry=False),
}
"""Ways of reading verdicts that a profile's stage (``reading``, ``critic_reading``) or a method
(``MethodPlan.reading``) asks for by name; the profile adds its reminder texts and decimals. The paper's:
its critic parser (the first ``[RESULT] N``, else ``[SCORE] N``, ``[Score: N]``, a final ``[N]`` after a
blank line, ``Overall Score: N`` after one, a final ``[N]``; the feedback is what precedes the first
``[RESULT]``), its Table 4 self-critique (the first ``RESULT: N``; the feedback is the whole critique; no
reminder) and its Table 2 judges (the first ``<score>N</score>``; no reminder)."""


@dataclass
class Attempt(Generic[T]):
    """One try at a formatted answer: the raw text, what was read from it, whether that is usable."""

    raw: str
    value: T
    usage: Usage
    readable: bool


async def with_reminder(
    messages: list[BaseMessage], attempt: Callable[[list[BaseMessage]], Awaitable[Attempt[T]]], reminder: str
) -> Attempt[T]:
    """``attempt`` once; if its answer is unreadable, once more with the reply and ``reminder`` appended.
    The usage of both tries is counted."""
    first = await attempt(messages)
    if first.readable:
        return first
    retry = [*messages, AIMessage(content=first.raw or "(no reply)"), HumanMessage(content=reminder)]
    second = await attempt(retry)
    second.usage = first.usage + second.usage
    return second


class CriticReply(BaseModel):
    """Your verdict on the draft."""

    feedback: str = Field(description="One short paragraph: what to fix or keep.")
    score: int = Field(ge=1, le=5, description="Score from 1 (poor) to 5 (excellent) on the given scale.")


async def verdict(
    model: ModelSpec | Runnable[Any, Any],
    messages: list[BaseMessage],
    *,
    max_tokens: int,
    role: str = "critic",
    shown: Shown | str = "",
    reading: Reading | None = None,
) -> tuple[Critique, Usage]:
    """A verdict on what ``messages`` show; score None if unreadable after one reminder. ``model``: a
    spec, a chat model, or a model bound to its call by :func:`spri.models.for_call`. ``shown`` is
    what the messages showed, with the spans that came from outside (the input, a draft, ...; a plain
    string is outside text as a whole): a free-text verdict whose final score marker the prompt showed
    from outside may merely quote it and is not read. ``reading`` says how the verdict is asked for and
    read (tools or free text, decimals, the reminder). Critics judge drafts this way; in judgment
    profiles the base model writes its drafts so."""
    bound = for_call(model, CallSite(role=role, max_tokens=max_tokens, step="judge"))
    how = reading or Reading()

    async def attempt(prompt: list[BaseMessage]) -> Attempt[Critique]:
        critique, usage = await _read_once(bound, prompt, role, shown, how)
        return Attempt(critique.raw, critique, usage, critique.score is not None)

    if not how.retry:
        once = await attempt(messages)
        return once.value, once.usage
    answer = await with_reminder(messages, attempt, how.reminder or FORMAT_REMINDER)
    return answer.value, answer.usage


async def _read_once(
    model: Runnable[Any, Any], messages: list[BaseMessage], role: str, shown: Shown | str, how: Reading
) -> tuple[Critique, Usage]:
    config = call_config(role)
    if how.tools and isinstance(model, BaseChatModel) and _TOOLS.supported(model):
        try:
            raw = await _TOOLS.bound(model).ainvoke(messages, config)
        except Exception as exc:
            if not _refuses_tools(exc):
                raise
            _TOOLS.refused(model)
        else:
            return _verdict_from_tool_call(raw, shown, how), usage_of(raw)
    message = await model.ainvoke(messages, config)
    reported = message.response_metadata.get(VERDICT_METADATA)
    if reported is not None:
        return Critique.model_validate(reported), usage_of(message)
    return _parsed(text_of(message), shown, how), usage_of(message)


def _parsed(text: str, shown: Shown | str, how: Reading) -> Critique:
    return parse_critique(text, shown, decimals=how.decimals, forms=how.forms, first=how.first, feedback=how.feedback)


def _refuses_tools(exc: Exception) -> bool:
    status = getattr(exc, "status_code", None) or getattr(getattr(exc, "response", None), "status_code", None)
    return isinstance(exc, NotImplementedError) or status in (400, 404, 422, 501)


class _VerdictTool:
    """Per model object: the model with the CriticReply tool bound and required (structured output by
    function calling, which llama.cpp's server supports where json_schema fails), bound once since
    binding converts the schema; and whether its endpoint refused tools once (then it gets text
    prompts from then on). Entries die with their model, so a reused id() never inherits them."""

    def __init__(self) -> None:
        self._entries: dict[int, tuple[weakref.ref[BaseChatModel], dict[str, Any]]] = {}

    def _entry(self, model: BaseChatModel) -> dict[str, Any]:
        key = id(model)
        found = self._entries.get(key)
        if found is None or found[0]() is not model:
            found = (weakref.ref(model, lambda _, key=key: self._entries.pop(key, None)), {})  # type: ignore[misc]
            self._entries[key] = found
        return found[1]

    def supported(self, model: BaseChatModel) -> bool:
        return type(model).bind_tools is not BaseChatModel.bind_tools and not self._entry(model).get("refused")

    def refused(self, model: BaseChatModel) -> None:
        self._entry(model)["refused"] = True

    def bound(self, model: BaseChatModel) -> Any:
        entry = self._entry(model)
        if "bound" not in entry:
            entry["bound"] = model.bind_tools([CriticReply], tool_choice=CriticReply.__name__)
        return entry["bound"]


_TOOLS = _VerdictTool()


def _verdict_from_tool_call(message: BaseMessage, shown: Shown | str, how: Reading) -> Critique:
    """The verdict from the CriticReply tool call, or, failing that, from whatever the model wrote."""
    for call in getattr(message, "tool_calls", None) or []:
        if call.get("name") == CriticReply.__name__:
            try:
                reply = CriticReply.model_validate(call.get("args") or {})
            except ValidationError:
                break
            raw = reply.model_dump_json()
            return Critique(score=reply.score, feedback=reply.feedback.strip(), raw=raw, sampled_score=reply.score)
    args = " ".join(str(call.get("args", "")) for call in getattr(message, "tool_calls", None) or [])
    return _parsed((text_of(message) + "\n" + args).strip(), shown, replace(how, decimals=False))


async def formatted_answer(
    spec: ModelSpec,
    messages: list[BaseMessage],
    read: Callable[[str], T | None],
    *,
    reminder: str | None,
    role: str = "judge",
    max_tokens: int = 256,
    grammar: str = "",
) -> tuple[str, T | None, Usage]:
    """(raw text, what ``read`` made of it or None, usage) of one model answer in a required format,
    asked once more with ``reminder`` when ``read`` finds nothing (the critic's rule, for any format;
    ``reminder=None``: asked once, as the paper's judges are). ``grammar`` holds models that support
    grammars to the format."""

    async def attempt(prompt: list[BaseMessage]) -> Attempt[T | None]:
        model = for_call(spec, CallSite(role=role, max_tokens=max_tokens, grammar=grammar))
        reply = await generate(model, prompt, role=role, max_tokens=max_tokens)
        value = read(reply.text)
        return Attempt(reply.text, value, reply.usage, value is not None)

    answer = await (attempt(messages) if reminder is None else with_reminder(messages, attempt, reminder))
    return answer.raw, answer.value, answer.usage
