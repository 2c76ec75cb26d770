"""The model layer's settings from the environment, read in this one place."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class EnvSettings:
    timeout: float
    """Seconds per model request (SPRI_TIMEOUT, default 120)."""
    max_retries: int
    """HTTP client retries on 429/5xx/timeouts (SPRI_MAX_RETRIES, default 3)."""
    openai_api_key: str | None
    openai_base_url: str | None
    cache: str | None
    """SQLite file of the model-call cache (SPRI_CACHE; off when unset)."""


def env() -> EnvSettings:
    """The current settings (read on each call, so a changed environment applies to new models)."""
    return EnvSettings(
        timeout=float(os.environ.get("SPRI_TIMEOUT") or 120),
        max_retries=int(os.environ.get("SPRI_MAX_RETRIES") or 3),
        openai_api_key=os.environ.get("OPENAI_API_KEY") or None,
        openai_base_url=os.environ.get("OPENAI_BASE_URL") or None,
        cache=os.environ.get("SPRI_CACHE") or None,
    )


def default_openai_url() -> str:
    return env().openai_base_url or "https://api.openai.com/v1"
