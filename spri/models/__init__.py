"""Every model call SPRI makes goes through here (the model layer, between ``spri.state`` and ``spri.nodes``).

- :func:`resolve` turns a spec ('local', 'local:PATH', 'openai:NAME', 'provider:NAME') into a chat model;
- :func:`generate` asks for a draft, :func:`verdict` for feedback + a score 1-5, each of a model given
  messages, a role and limits; both return what they spent, so the graph accounts calls and tokens per
  stage;
- :func:`for_call` binds a model that tunes its calls to where it is made (a :class:`CallSite`);
- :func:`speculative` marks the calls made inside it as speculative (tagged, hidden from streams, counted);
- :data:`MODEL_CALL_RETRY` is the one retry policy of the model-calling nodes;
- :class:`EndpointPool` spreads one model over several OpenAI-compatible endpoints.

Backend differences live in the model objects: the embedded model (``spri.models.embedded``, installed
with the ``local`` extra) takes what it needs from the call site and reports its own verdicts.
"""

from spri.models.calls import Reply, Speculation, generate, speculative
from spri.models.errors import ModelError
from spri.models.pool import EndpointPool, endpoint_pool
from spri.models.resolve import chat_openai, resolve
from spri.models.retry import MODEL_CALL_RETRY, is_transient
from spri.models.sites import AdaptsToCalls, CallSite, Step, for_call
from spri.models.verdicts import READINGS, VERDICT_METADATA, Reading, formatted_answer, verdict

__all__ = [
    "MODEL_CALL_RETRY",
    "READINGS",
    "VERDICT_METADATA",
    "AdaptsToCalls",
    "CallSite",
    "EndpointPool",
    "ModelError",
    "Reading",
    "Reply",
    "Speculation",
    "Step",
    "chat_openai",
    "endpoint_pool",
    "for_call",
    "formatted_answer",
    "generate",
    "is_transient",
    "resolve",
    "speculative",
    "verdict",
]
