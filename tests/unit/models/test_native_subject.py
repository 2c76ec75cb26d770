"""Models that write and judge their own way (the embedded model) get a Subject, the plain parts of what
each draft and verdict is about; the prompt messages every model gets stay the same. A judgment's
expected_score reaches the result."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import BaseMessage
from pydantic import Field, PrivateAttr

from spri import arun
from spri.models import Subject
from spri.state import Critique, Usage
from tests.support.fakes import ScriptedChatModel

QUERY = "How do I keep basil alive on a windowsill?"
PRINCIPLES = "1. Mention light.\n2. Mention watering.\n3. Mention pinching."


class NativeModel(ScriptedChatModel):
    """A scripted model with the embedded model's hooks: it records the subjects it is given and judges
    with scores from a list."""

    scores: list[float] = Field(default_factory=list)
    _subjects: list[tuple[str, Subject | None]] = PrivateAttr(default_factory=list)

    def draft_options(self, *, grammar: str, slot: str, subject: Subject | None = None) -> dict[str, Any]:
        self._subjects.append(("draft:" + slot, subject))
        return {"slot": slot}

    async def averdict(
        self, messages: list[BaseMessage], *, max_tokens: int, slot: str, config: Any, subject: Subject | None = None
    ) -> tuple[Critique, Usage]:
        self._subjects.append(("verdict:" + slot, subject))
        expected = self.scores.pop(0)
        critique = Critique(score=int(expected + 0.5), feedback=f"fb {expected}", raw="", expected_score=expected)
        return critique, Usage(calls=1)


async def test_drafts_and_verdicts_carry_their_subject():
    model = NativeModel(replies=[PRINCIPLES, "Water it.", "Give it sun. Water it when dry."], scores=[4.2, 2.1, 4.6])
    result = await arun(QUERY, model=model, max_rounds=2)
    assert result.calls == 6  # 3 drafts and 3 verdicts
    kinds = [kind for kind, _ in model._subjects]
    assert kinds == [
        "draft:base:principles",
        "verdict:critic:principles",
        "draft:base:response",
        "verdict:critic:response",
        "draft:base:response",
        "verdict:critic:response",
    ]
    subjects = [s for _, s in model._subjects]
    assert all(s is not None and s.query == QUERY and QUERY in s.request for s in subjects)
    first, judged_principles, response, judged, revision, rejudged = subjects
    assert first.stage == "principles" and first.draft is None and first.principles is None
    assert judged_principles.draft == PRINCIPLES
    assert response.principles == PRINCIPLES and response.draft is None and response.feedback is None
    assert judged.draft == "Water it." and judged.judged is None
    assert revision.draft == "Water it." and revision.feedback == "fb 2.1"
    assert rejudged.draft == "Give it sun. Water it when dry."
    assert [c.expected_score for c in result.critiques["response"]] == [2.1, 4.6]


async def test_a_judgment_is_asked_about_the_response_and_reports_its_expected_score():
    model = NativeModel(scores=[3.7])
    answer = "Put it in a sunny window and water it when the soil is dry."
    result = await arun(QUERY, profile="rubric", method="vanilla", response_to_judge=answer, model=model)
    assert result.calls == 1
    assert [kind for kind, _ in model._subjects] == ["verdict:base:response"]
    subject = model._subjects[0][1]
    assert subject is not None and subject.judged == answer and subject.query == QUERY and subject.draft is None
    assert result.score == 4 and result.expected_score == 3.7
