"""Engines run one item at a time for the batch runner: ``await engine.run(work)`` gives the item's
:class:`Result` or a :class:`Failure` (never raises for an item's own problem). The local engine runs
items in this process; the ray engine (``spri.batch.ray_engine``) on Ray actor workers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from spri.api import Context, InputError, Result, SpriError, arun, endpoint_pool, explain, make_context


@dataclass
class Failure:
    """Why one item failed, as the errors file records it."""

    message: str
    kind: str
    systemic: bool = True
    """Counts towards stopping the batch (an endpoint down, say); an item's own bad input does not."""

    @classmethod
    def of(cls, exc: BaseException) -> Failure:
        message, _ = explain(exc)
        return cls(message, type(exc).__name__, not isinstance(exc, InputError))


Outcome = Result | Failure


def shared_context(options: dict[str, Any]) -> Context:
    """The validated Context every item shares (profile, seeds and models checked now)."""
    return make_context(**options)


def with_pools(ctx: Context, base_urls: list[str] | None, max_in_flight: int | None) -> Context:
    """With several ``base_urls``, an openai:NAME model (and critic) becomes an endpoint pool over them."""
    if not base_urls:
        return ctx
    if not (isinstance(ctx.model, str) and ctx.model.startswith("openai:")):
        raise SpriError("--base-url needs an openai:NAME model (--model openai:NAME)")
    pools: dict[str, Any] = {}
    for key in ("model", "critic_model"):
        spec = getattr(ctx, key)
        if isinstance(spec, str) and spec.startswith("openai:"):
            pools[key] = endpoint_pool(spec, base_urls, max_in_flight=max_in_flight, max_tokens=ctx.max_tokens)
    return ctx.model_copy(update=pools)


class LocalEngine:
    """Items run as coroutines in this process, ``concurrency`` at a time."""

    name = "local"
    workers = 1
    items: int | None = None

    def __init__(self, ctx: Context, concurrency: int) -> None:
        self.ctx, self.slots = ctx, concurrency

    async def run(self, work: Any) -> Outcome:
        try:
            return await arun(work.inputs, context=self.ctx)
        except Exception as exc:
            return Failure.of(exc)

    def facts(self) -> dict[str, Any]:
        """What the summary reports about this engine's run, besides the counts."""
        return {}

    async def __aenter__(self) -> LocalEngine:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        return None
