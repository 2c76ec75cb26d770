"""Scripted chat models for tests: replies come from a list or from a function of the prompt."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import Field, PrivateAttr

Reply = str | AIMessage | BaseException | Callable[[list[BaseMessage]], str]


class ScriptedChatModel(BaseChatModel):
    """Answers each call with the next scripted reply and records every prompt it was sent.

    A reply may be a string, an exception (raised), or a function of the messages. When the script
    runs out, ``default`` (a reply of the same kinds) answers, or the call fails loudly.
    Token usage is reported as whitespace-separated word counts, so accounting can be checked.
    """

    replies: list[Any] = Field(default_factory=list)
    default: Any = None
    name_: str = "scripted"
    _calls: list[list[BaseMessage]] = PrivateAttr(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "scripted"

    @property
    def model_name(self) -> str:
        return self.name_

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"name": self.name_}

    @property
    def calls(self) -> list[list[BaseMessage]]:
        return self._calls

    def _generate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any
    ) -> ChatResult:
        index = len(self._calls)
        self._calls.append(list(messages))
        if index < len(self.replies):
            reply = self.replies[index]
        elif self.default is not None:
            reply = self.default
        else:
            raise AssertionError(f"scripted model ran out of replies at call {index + 1}")
        if isinstance(reply, BaseException):
            raise reply
        if isinstance(reply, AIMessage):  # a scripted message as it is (e.g. one with tool calls)
            return ChatResult(generations=[ChatGeneration(message=reply)])
        text = reply(messages) if callable(reply) else str(reply)
        words_in = sum(len(m.text.split()) for m in messages)
        message = AIMessage(
            content=text,
            usage_metadata={
                "input_tokens": words_in,
                "output_tokens": len(text.split()),
                "total_tokens": words_in + len(text.split()),
            },
        )
        return ChatResult(generations=[ChatGeneration(message=message)])


def scripted(*replies: Reply, default: Reply | None = None, name: str = "scripted") -> ScriptedChatModel:
    return ScriptedChatModel(replies=list(replies), default=default, name_=name)


class ScriptedToolCaller(ScriptedChatModel):
    """A scripted model an agent can give tools to: it records them and answers from its script (an
    AIMessage with tool calls where the script says so)."""

    tools: list[Any] = Field(default_factory=list)

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> ScriptedToolCaller:  # type: ignore[override]
        self.tools = list(tools)
        return self


def tool_call(name: str, **args: Any) -> AIMessage:
    """An agent model's reply calling tool ``name`` with ``args``."""
    return AIMessage(content="", tool_calls=[{"name": name, "args": args, "id": f"call-{name}"}])


def critique(score: int | None, feedback: str = "Looks fine.") -> str:
    return f"Feedback: {feedback}\nScore: {score}" if score is not None else f"Feedback: {feedback}"


RUN_REFINING_EACH_STAGE_ONCE = [
    "begin",
    "draft_principles",
    "judge_principles",
    "refine_principles",
    "judge_principles",
    "draft_response",
    "judge_response",
    "refine_response",
    "judge_response",
    "finalize",
]
"""The nodes a run executes, in order, when the critic asks for one refinement in each stage."""


def is_critic_prompt(messages: Sequence[BaseMessage]) -> bool:
    """True for the critic's prompts (their system message asks for a review)."""
    return bool(messages) and messages[0].type == "system" and "You review" in messages[0].text


class LatencyChatModel(BaseChatModel):
    """An async fake with a fixed latency per call: drafts echo the request, the critic accepts at
    once (so a SPRI item is exactly 4 calls). For throughput and overhead measurements."""

    latency: float = 0.5
    score: int = 5

    @property
    def _llm_type(self) -> str:
        return "latency-fake"

    def _reply(self, messages: list[BaseMessage]) -> ChatResult:
        text = critique(self.score) if is_critic_prompt(messages) else "1. A principle.\n2. Another."
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])

    def _generate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kw: Any
    ) -> ChatResult:
        import time

        time.sleep(self.latency)
        return self._reply(messages)

    async def _agenerate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kw: Any
    ) -> ChatResult:
        import asyncio

        await asyncio.sleep(self.latency)
        return self._reply(messages)
