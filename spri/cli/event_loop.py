"""The event loop `spri batch` runs on: uvloop's where it is installed (the `batch` extra brings it on
Linux and macOS), else asyncio's own. Both run the same code; on uvloop's the framework spends a few
to ten percent less CPU per model call (about 12% fewer instructions; benchmarks/RESULTS.md).
``SPRI_UVLOOP=0`` keeps asyncio's loop."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's ``new_event_loop`` if uvloop is installed and not turned off, else None (asyncio's)."""
    if os.environ.get("SPRI_UVLOOP", "1").strip().lower() in ("0", "false", "no", "off"):
        return None
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def run(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(main)`` on the loop :func:`loop_factory` picks."""
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        return runner.run(main)
