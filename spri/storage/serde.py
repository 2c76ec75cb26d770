"""The checkpoint serializer of every saver spri opens."""

from __future__ import annotations

from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

# The only classes of ours that reach a checkpoint. Savers opened here deserialize these and LangGraph's own
# safe types, nothing else: a tampered checkpoint database cannot make us instantiate arbitrary classes
# (and LangGraph's warning about unregistered types does not fire on every resume).
CHECKPOINT_TYPES = (("spri.state.state", "Critique"), ("spri.state.state", "Usage"))


def checkpoint_serde() -> JsonPlusSerializer:
    return JsonPlusSerializer(allowed_msgpack_modules=CHECKPOINT_TYPES)
