"""An opt-in cache of model calls in SQLite (``SPRI_CACHE=PATH`` or ``--cache PATH``).

A LangChain ``BaseCache`` of our own: LangChain keys every lookup by the prompt (all messages) and
the model's identity string, which holds its class, parameters (model name, temperature, max_tokens,
seed, ...) and the call's options (grammar, tools, stop words), so a different model, prompt or
setting never hits. A hit is marked in the reply's ``response_metadata["spri_cache"]`` so accounting
can count it as a cache hit, not a model call. Re-running an evaluation after a crash, or sweeping
``min_score``, then repeats no identical call.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
import warnings
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from langchain_core.caches import BaseCache
from langchain_core.load import dumps, loads
from langchain_core.outputs import ChatGeneration, Generation

from spri.models.errors import ModelError

HIT = "hit"


class CallCache(BaseCache):
    """Replies by (prompt, model identity) in one SQLite file, safe to share between threads."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path).expanduser()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("CREATE TABLE IF NOT EXISTS calls (key TEXT PRIMARY KEY, reply TEXT NOT NULL)")
        except (OSError, sqlite3.Error) as exc:
            raise ModelError(f"cannot use model-call cache {self.path}: {exc}") from exc
        self._lock = threading.Lock()
        self._warned = False

    @staticmethod
    def _key(prompt: str, llm_string: str) -> str:
        return hashlib.sha256(f"{llm_string}\x00{prompt}".encode()).hexdigest()

    def lookup(self, prompt: str, llm_string: str) -> Sequence[Generation] | None:
        try:
            with self._lock:
                row = self._db.execute(
                    "SELECT reply FROM calls WHERE key = ?", (self._key(prompt, llm_string),)
                ).fetchone()
        except sqlite3.Error as exc:
            self._unusable(exc)
            return None
        if row is None:
            return None
        generations = self._stored_generations(row[0])
        if generations is None:
            return None
        for generation in generations:
            if isinstance(generation, ChatGeneration):
                message = generation.message
                message.id = None  # a fresh message each time, never merged with an earlier one
                message.response_metadata = {**message.response_metadata, "spri_cache": HIT}
        return generations

    def _stored_generations(self, reply: Any) -> list[Generation] | None:
        """A stored reply read back; None (a miss, which the next update replaces) if it is damaged."""
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # langchain_core marks loads() as beta
                generations = loads(reply, allowed_objects="core")
        except Exception as exc:  # anything a damaged row makes the deserializer raise
            self._unusable(exc)
            return None
        if not isinstance(generations, list) or not all(isinstance(g, Generation) for g in generations):
            self._unusable(TypeError("a stored reply is not a list of model replies"))
            return None
        return generations

    def _unusable(self, exc: BaseException) -> None:
        """One warning per cache file: the models are called instead of the damaged entries."""
        if not self._warned:
            self._warned = True
            reason = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
            warnings.warn(
                f"model-call cache {self.path} has an unreadable entry ({reason}); calling the model instead "
                "and storing its reply (delete the file to start the cache afresh)",
                stacklevel=2,
            )

    def update(self, prompt: str, llm_string: str, return_val: Sequence[Generation]) -> None:
        reply = dumps(list(return_val))
        try:
            with self._lock:
                self._db.execute(
                    "INSERT OR REPLACE INTO calls (key, reply) VALUES (?, ?)", (self._key(prompt, llm_string), reply)
                )
        except sqlite3.Error as exc:  # a damaged file: the reply is used, just not kept
            self._unusable(exc)

    def clear(self, **kwargs: Any) -> None:
        with self._lock:
            self._db.execute("DELETE FROM calls")


@lru_cache(maxsize=8)
def call_cache(path: str) -> CallCache:
    """One cache object per file and process."""
    return CallCache(path)


def served_from_cache(message: Any) -> bool:
    return bool(getattr(message, "response_metadata", {}).get("spri_cache") == HIT)
