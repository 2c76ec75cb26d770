"""Where a model call is made, for models that tune each call to it.

Every model gets the same call: messages, a role and limits (:func:`spri.models.generate`,
:func:`spri.models.verdict`). A model that needs more than that to do its best (the embedded model:
a KV-cache slot per role and stage, the profile's grammar, the plain parts of what it writes or
judges) has a ``for_call`` method: the caller describes the call in a :class:`CallSite` and the model
returns itself bound to whatever it takes from there. Other models never see a site.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import Runnable

from spri.models.resolve import resolve
from spri.state import Profile, Stage, State
from spri.state.context import ModelSpec

Step = Literal["draft", "refine", "judge"]


@dataclass(frozen=True)
class CallSite:
    """One model call as its caller sees it. Calls outside the SPRI loop (an evaluation judge) give only
    the role and limits, and the grammar of their format if they have one."""

    role: str
    """Who calls: 'base', 'critic', 'judge', ..."""
    max_tokens: int
    stage: Stage | None = None
    """The loop's stage: 'principles' or 'response'."""
    step: Step | None = None
    """'draft' and 'refine' are the base model's steps (a draft of a stage whose output is a verdict is a
    verdict), 'judge' the critic's."""
    state: State | None = None
    profile: Profile | None = None
    variant: str = ""
    """The template variant the method uses for this stage ('' for the stage's own templates)."""
    fields: Mapping[str, Any] = field(default_factory=dict)
    """The input fields as the stage's templates see them, by name."""
    variables: Mapping[str, Any] = field(default_factory=dict)
    """What the stage's per-input prompts see besides the fields: ``input`` (their labelled block) and
    ``principles`` where the stage uses them."""
    stable: Callable[[], Mapping[str, Any]] = dict
    """What the stage's stable prompts see, e.g. ``examples`` (the seed examples as shown), computed
    when asked for."""
    grammar: str = ""
    """A GBNF grammar of the reply's format, where the caller has one (the evaluation judges)."""

    @property
    def slot(self) -> str:
        """A name for the calls that share a prompt prefix: the role, and the stage if there is one."""
        return f"{self.role}:{self.stage}" if self.stage else self.role


@runtime_checkable
class AdaptsToCalls(Protocol):
    """A model that tunes each call to where it is made."""

    def for_call(self, site: CallSite) -> Runnable[Any, Any]: ...


def for_call(model: ModelSpec | Runnable[Any, Any], site: CallSite) -> Runnable[Any, Any]:
    """The model to call at ``site``: a spec's (or chat model's) model, bound to the site if it tunes its
    calls. Anything else is taken to be a model already bound to its call."""
    if isinstance(model, str | BaseChatModel):
        chat = resolve(model, site.max_tokens)
        return chat.for_call(site) if isinstance(chat, AdaptsToCalls) else chat
    return model
