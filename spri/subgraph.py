"""SPRI as a subgraph of someone else's graph, synchronously or asynchronously.

The SPRI graph runs with the parent's config, so its stages stream under the parent
(``subgraphs=True``) and the parent's checkpointer stores its state under the node's namespace. The
graph's nodes are async; a synchronous parent (``graph.invoke``) runs it on a private event loop,
and the parent's checkpointer is used through its synchronous methods (which a synchronous parent
uses too, and which every saver has, while some, e.g. ``SqliteSaver``, have no async ones).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver

from spri.compat import config_checkpointer, with_config_checkpointer
from spri.graph import build_graph
from spri.state import Context, Output


async def arun_subgraph(inputs: Mapping[str, Any], ctx: Context, config: RunnableConfig | None) -> Output:
    """Run SPRI on ``inputs`` inside the caller's graph run (``config`` is the caller's)."""
    graph = build_graph(None)  # no checkpointer of its own: it inherits the parent's
    values = await graph.ainvoke(dict(inputs), config, context=ctx)
    return Output.model_validate(values)


def run_subgraph(inputs: Mapping[str, Any], ctx: Context, config: RunnableConfig | None) -> Output:
    """:func:`arun_subgraph` for synchronous callers."""
    config = _with_async_saver(config)
    coroutine = arun_subgraph(inputs, ctx, config)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="spri-subgraph") as pool:
        return pool.submit(asyncio.run, coroutine).result()


def _with_async_saver(config: RunnableConfig | None) -> RunnableConfig | None:
    """The parent's config with its checkpointer seen through async methods that call its synchronous
    ones (``spri.compat``: where the checkpointer cannot be found, the config as it is)."""
    saver = config_checkpointer(config)
    if not isinstance(saver, BaseCheckpointSaver) or isinstance(saver, SyncSaverForAsync):
        return config
    return with_config_checkpointer(config, SyncSaverForAsync(saver))


class SyncSaverForAsync(BaseCheckpointSaver):
    """A synchronous-only checkpointer seen through the async methods the subgraph calls. The calls are
    made inline: the synchronous parent is waiting for the subgraph anyway, and savers such as
    SqliteSaver must be used from the thread that owns their connection."""

    def __init__(self, saver: BaseCheckpointSaver) -> None:
        super().__init__(serde=saver.serde)
        self.saver = saver

    # Each method hands its arguments, as LangGraph passes them, to the wrapped saver's synchronous one.

    def get_tuple(self, *args: Any, **kwargs: Any) -> Any:
        return self.saver.get_tuple(*args, **kwargs)

    def list(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        return self.saver.list(*args, **kwargs)

    def put(self, *args: Any, **kwargs: Any) -> RunnableConfig:
        return self.saver.put(*args, **kwargs)

    def put_writes(self, *args: Any, **kwargs: Any) -> None:
        self.saver.put_writes(*args, **kwargs)

    def get_next_version(self, *args: Any, **kwargs: Any) -> Any:
        return self.saver.get_next_version(*args, **kwargs)

    async def aget_tuple(self, *args: Any, **kwargs: Any) -> Any:
        return self.saver.get_tuple(*args, **kwargs)

    async def alist(self, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        for item in self.saver.list(*args, **kwargs):
            yield item

    async def aput(self, *args: Any, **kwargs: Any) -> RunnableConfig:
        return self.saver.put(*args, **kwargs)

    async def aput_writes(self, *args: Any, **kwargs: Any) -> None:
        self.saver.put_writes(*args, **kwargs)
