"""What a draft or a verdict is about, as plain parts: models that write or judge their own way (the
embedded model) read these instead of parsing them back out of the rendered prompt. Other models
ignore them; the prompt they get is the same either way."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Subject:
    stage: str
    """The stage: 'principles' or 'response'."""
    request: str
    """The input as the stage's prompt shows it (each field under its label)."""
    query: str = ""
    """The request alone (the query field)."""
    principles: str | None = None
    """The principles the response follows, where the stage uses them."""
    draft: str | None = None
    """The text under review (a verdict: the draft judged; a draft: the one being revised)."""
    feedback: str | None = None
    """The feedback a revision answers."""
    judged: str | None = None
    """Judgment profiles: the response the verdict is about."""
    shown: str = ""
    """A verdict: what the writer was shown besides the input (instructions, seed examples, feedback),
    which a draft must not repeat."""
