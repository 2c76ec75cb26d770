"""The server's settings, read from its environment in this one place.

`spri serve` writes its command-line options into the same variables before starting, so every uvicorn
worker (a fresh process) builds the same settings from its environment.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from spri.api import SpriError, parse_duration

DEFAULT_MAX_BODY = 1_000_000
LOG_FORMATS = ("text", "json")
KEY_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


class SettingsError(SpriError):
    """A server setting that cannot work; the message names the variable."""


def default_server_db() -> str:
    """The server's own checkpoint database (never the CLI's): ``serve.sqlite`` in the user's data
    directory, so threads of `spri ask` are not visible through the server and the other way round."""
    from platformdirs import user_data_dir

    return str(Path(user_data_dir("spri", appauthor=False)) / "serve.sqlite")


MIN_KEY_LENGTH = 16
KEY_RULE = f"at least {MIN_KEY_LENGTH} characters, without spaces or commas (e.g. from `openssl rand -hex 16`)"
"""The one rule for SPRI_API_KEY and every key of SPRI_API_KEYS, stated in their errors and the docs."""


def check_key(key: str, where: str) -> str:
    """``key`` if it follows :data:`KEY_RULE`, else SettingsError naming ``where`` (never the key)."""
    if len(key) < MIN_KEY_LENGTH or any(char.isspace() or char == "," for char in key) or not key.isprintable():
        raise SettingsError(f"{where}: API keys need {KEY_RULE}; this one has {len(key)} characters")
    return key


def parse_named_keys(text: str) -> dict[str, str]:
    """``SPRI_API_KEYS``: ``NAME:KEY`` pairs separated by commas or whitespace -> {name: key}."""
    keys: dict[str, str] = {}
    for item in re.split(r"[,\s]+", text.strip()):
        if not item:
            continue
        name, sep, key = item.partition(":")
        if not sep or not KEY_NAME.match(name):
            shown = name + ":..." if sep else repr(item[:4] + "...")
            raise SettingsError(
                "SPRI_API_KEYS expects NAME:KEY pairs separated by spaces or commas (names of letters, digits, "
                f"'_', '.', '-'; keys of {KEY_RULE}), got {shown}"
            )
        check_key(key, f"SPRI_API_KEYS, key of {name!r}")
        if name in keys:
            raise SettingsError(f"SPRI_API_KEYS names {name!r} twice")
        if key in keys.values():
            raise SettingsError(f"SPRI_API_KEYS gives {name!r} the same key as another name")
        keys[name] = key
    return keys


def _number(name: str, default: float, *, minimum: float = 0) -> float:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from None
    if value < minimum:
        raise SettingsError(f"{name} must be at least {minimum:g}, got {raw!r}")
    return value


def _duration(name: str) -> timedelta | None:
    raw = os.environ.get(name)
    if not raw:
        return None
    try:
        return parse_duration(raw, name)
    except SpriError as exc:
        raise SettingsError(str(exc)) from None


@dataclass(frozen=True)
class ServerSettings:
    db: str
    """Checkpoint database: SQLite path or postgresql:// URL (SPRI_SERVE_DB; default: serve.sqlite)."""
    shared_key: str | None = None
    """SPRI_API_KEY: one key; every holder shares one thread namespace."""
    named_keys: dict[str, str] = field(default_factory=dict)
    """SPRI_API_KEYS: per-name keys; each name sees and resumes only its own threads."""
    max_body: int = DEFAULT_MAX_BODY
    log_format: str = "text"
    ready_cache: float = 5.0
    """Seconds a /ready answer is reused (SPRI_READY_CACHE), so probes do not hammer the model endpoint."""
    ready_timeout: float = 3.0
    """Seconds each readiness probe may take (SPRI_READY_TIMEOUT)."""
    thread_ttl: timedelta | None = None
    """SPRI_THREAD_TTL: threads idle for longer are deleted (running ones never); None keeps them."""

    @property
    def auth(self) -> bool:
        return bool(self.shared_key or self.named_keys)

    @property
    def bearer_keys(self) -> dict[str | None, str]:
        """Every key a request may bear, by name (None: the shared key)."""
        keys: dict[str | None, str] = {name: key for name, key in self.named_keys.items()}
        if self.shared_key:
            keys[None] = self.shared_key
        return keys

    @classmethod
    def from_env(cls) -> ServerSettings:
        shared = os.environ.get("SPRI_API_KEY") or None
        if shared:
            check_key(shared, "SPRI_API_KEY")
        named = parse_named_keys(os.environ.get("SPRI_API_KEYS") or "")
        if shared and named:
            raise SettingsError("set SPRI_API_KEY (one shared key) or SPRI_API_KEYS (named keys), not both")
        log_format = os.environ.get("SPRI_LOG_FORMAT") or "text"
        if log_format not in LOG_FORMATS:
            raise SettingsError(f"SPRI_LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}, got {log_format!r}")
        return cls(
            db=os.environ.get("SPRI_SERVE_DB") or default_server_db(),
            shared_key=shared,
            named_keys=named,
            max_body=int(_number("SPRI_MAX_BODY", DEFAULT_MAX_BODY, minimum=1)),
            log_format=log_format,
            ready_cache=_number("SPRI_READY_CACHE", 5.0),
            ready_timeout=_number("SPRI_READY_TIMEOUT", 3.0, minimum=0.1),
            thread_ttl=_duration("SPRI_THREAD_TTL"),
        )
