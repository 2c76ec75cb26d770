"""Loading the embedded model without touching the process's stdout and stderr.

llama-cpp-python quietens a load (``verbose=False``) by pointing file descriptors 1 and 2 at
/dev/null and back. That is process-wide state: two loads at once (two items reaching a new KV-cache
slot together) leave them pointing at /dev/null for good, and everything the process prints after
vanishes. So the model is loaded with ``verbose=True`` (no descriptor is swapped), llama.cpp's own
log lines go to the ``spri.llama_cpp`` logger (errors at ERROR, the rest at DEBUG), and the report
llama-cpp-python prints to ``sys.stderr`` while loading is dropped for the loading thread only;
every other thread's output passes. Loads take one process-wide lock, so they never overlap.
"""

from __future__ import annotations

import ctypes
import logging
import sys
import threading
from typing import Any

LOGGER = logging.getLogger("spri.llama_cpp")
LOADING = threading.RLock()
"""Held while a model loads (and while a loaded slot is looked up, so a slot is loaded once)."""

_ERROR, _CONTINUED = 3, 5  # ggml_log_level values
_callback: Any = None  # the ctypes callback, kept alive as long as llama.cpp may call it
_last_level = logging.DEBUG


def _log(level: int, text: bytes, _user_data: Any) -> None:
    global _last_level
    if level != _CONTINUED:
        _last_level = logging.ERROR if level == _ERROR else logging.DEBUG
    if LOGGER.isEnabledFor(_last_level):
        LOGGER.log(_last_level, "%s", text.decode("utf-8", errors="replace").rstrip("\n"))


def route_llama_logs() -> None:
    """Send llama.cpp's log lines to the ``spri.llama_cpp`` logger (once per process)."""
    global _callback
    if _callback is not None:
        return
    import llama_cpp

    _callback = llama_cpp.llama_log_callback(_log)
    llama_cpp.llama_log_set(_callback, ctypes.c_void_p(0))


class _DroppingFor:
    """A stand-in for ``sys.stderr`` that drops what one thread writes and passes the rest on."""

    def __init__(self, stream: Any, thread: int) -> None:
        self._stream = stream
        self._thread = thread

    def write(self, text: str) -> int:
        if threading.get_ident() == self._thread:
            return len(text)
        return int(self._stream.write(text))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def open_llama(**params: Any) -> Any:
    """A ``llama_cpp.Llama`` loaded with ``params``, printing nothing and leaving the process's
    descriptors and other threads' output alone."""
    import llama_cpp

    with LOADING:
        route_llama_logs()
        stderr = sys.stderr
        sys.stderr = _DroppingFor(stderr, threading.get_ident())
        try:
            llm = llama_cpp.Llama(**params, verbose=True)
        finally:
            if isinstance(sys.stderr, _DroppingFor):  # unless someone replaced it meanwhile
                sys.stderr = stderr
    llm.verbose = False  # no timing reports or cache notes on later calls
    return llm
