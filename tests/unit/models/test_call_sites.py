"""A model that tunes its calls (the embedded model) is handed a CallSite by the loop and takes what it
needs from it: its slot, the profile's grammar, the plain parts (Subject) of each draft and verdict. Other
models get messages, a role and limits only; the prompt messages are the same either way. A verdict a
model reports in its reply's metadata is taken as it is, and a judgment's expected_score reaches the
result."""

from __future__ import annotations

import inspect
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from pydantic import Field, PrivateAttr

from spri import arun, models
from spri.models import VERDICT_METADATA, CallSite
from spri.models.embedded.call_options import READ_VERDICT, call_options
from spri.models.embedded.subject import Subject
from spri.state import Critique
from tests.support.fakes import ScriptedChatModel

QUERY = "How do I keep basil alive on a windowsill?"
PRINCIPLES = "1. Mention light.\n2. Mention watering.\n3. Mention pinching."


class SiteModel(ScriptedChatModel):
    """A scripted model with the embedded model's call options: it records what each call was about and
    reports verdicts with expected scores from a list."""

    scores: list[float] = Field(default_factory=list)
    _seen: list[tuple[str, Subject | None, dict[str, Any]]] = PrivateAttr(default_factory=list)

    def for_call(self, site: CallSite) -> Runnable[Any, Any]:
        return self.bind(**call_options(site))

    def _generate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any
    ) -> ChatResult:
        read = kwargs.get(READ_VERDICT)
        if read is None:
            self._seen.append(("draft:" + kwargs["slot"], None, kwargs))
            return super()._generate(messages, stop, run_manager)
        self._seen.append(("verdict:" + kwargs["slot"], Subject(**read), kwargs))
        expected = self.scores.pop(0)
        critique = Critique(score=int(expected + 0.5), feedback=f"fb {expected}", raw="", expected_score=expected)
        message = AIMessage(content=critique.as_text(), response_metadata={VERDICT_METADATA: critique.model_dump()})
        return ChatResult(generations=[ChatGeneration(message=message)])


async def test_drafts_and_verdicts_take_what_they_need_from_the_call_site():
    model = SiteModel(replies=[PRINCIPLES, "Water it.", "Give it sun. Water it when dry."], scores=[4.2, 2.1, 4.6])
    result = await arun(QUERY, model=model, max_rounds=2)
    assert result.calls == 6  # 3 drafts and 3 verdicts
    assert [kind for kind, _, _ in model._seen] == [
        "draft:base:principles",
        "verdict:critic:principles",
        "draft:base:response",
        "verdict:critic:response",
        "draft:base:response",
        "verdict:critic:response",
    ]
    options = [o for _, _, o in model._seen]
    assert options[0]["grammar"].startswith("root ::=")  # the profile's grammar, rendered for max_tokens
    assert options[2]["notes"] == PRINCIPLES and options[2]["request"] == QUERY and not options[2]["emphasis"]
    assert options[4]["emphasis"] == "fb 2.1"  # the revision stresses what the feedback names
    verdicts = [s for kind, s, _ in model._seen if kind.startswith("verdict")]
    assert all(s is not None and s.query == QUERY and QUERY in s.request for s in verdicts)
    principles, first, second = verdicts
    assert principles.stage == "principles" and principles.draft == PRINCIPLES and principles.principles is None
    assert first.draft == "Water it." and first.principles == PRINCIPLES and first.judged is None
    assert second.draft == "Give it sun. Water it when dry."
    assert [c.expected_score for c in result.critiques["response"]] == [2.1, 4.6]


async def test_a_judgment_is_asked_about_the_response_and_reports_its_expected_score():
    model = SiteModel(scores=[3.7])
    answer = "Put it in a sunny window and water it when the soil is dry."
    result = await arun(QUERY, profile="rubric", method="vanilla", response_to_judge=answer, model=model)
    assert result.calls == 1
    assert [kind for kind, _, _ in model._seen] == ["verdict:base:response"]
    subject = model._seen[0][1]
    assert subject is not None and subject.judged == answer and subject.query == QUERY and subject.draft is None
    assert result.score == 4 and result.expected_score == 3.7


class PlainModel(ScriptedChatModel):
    """A backend without call options of its own: records the options each call came with."""

    _options: list[dict[str, Any]] = PrivateAttr(default_factory=list)

    def _generate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any
    ) -> ChatResult:
        self._options.append(kwargs)
        return super()._generate(messages, stop, run_manager)


async def test_a_backend_without_call_options_gets_messages_a_role_and_limits_only():
    for call in (models.generate, models.verdict):
        assert set(inspect.signature(call).parameters) <= {
            "model",
            "messages",
            "role",
            "max_tokens",
            "shown",
            "reading",
        }
    model = PlainModel(replies=[PRINCIPLES, "Feedback: ok\nScore: 5", "Water it when dry.", "Feedback: ok\nScore: 5"])
    result = await arun(QUERY, model=model, max_rounds=1)
    assert result.calls == 4 and model._options == [{}, {}, {}, {}]


def test_calls_outside_the_loop_get_the_role_as_slot_and_keep_a_given_grammar():
    judge = call_options(CallSite(role="judge", max_tokens=64, grammar='root ::= "a"'))
    assert judge == {"slot": "judge", "clean": True, "grammar": 'root ::= "a"'}
    assert call_options(CallSite(role="critic", max_tokens=64, step="judge")) == {
        "slot": "critic",
        "sampled_verdict": True,
    }
