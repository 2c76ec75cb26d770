"""Liveness (``/health``: the process answers) and readiness (``/ready``: the checkpoint database accepts a
write and every configured model endpoint answers a cheap request). Readiness answers are cached for a
few seconds, and concurrent probes share one check, so a busy load balancer does not hammer the model."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from typing import Any

from spri.api import Context, model_name, redact, redact_url

OK = "ok"
NOT_PROBED = "not probed"
FAILURE_CACHE = 1.0
"""Seconds at most an "unavailable" answer is reused."""


def model_specs() -> list[str]:
    """The server's models (they come only from its environment)."""
    ctx = Context()
    return list(dict.fromkeys(model_name(spec) for spec in (ctx.model, ctx.critic)))


def endpoints(specs: list[str]) -> dict[str, str | None]:
    """What to probe per model: an OpenAI-compatible base URL, or None (in process, or a provider
    LangChain reaches its own way)."""
    found: dict[str, str | None] = {}
    for spec in specs:
        kind = spec.partition(":")[0]
        if kind == "openai":
            base = (os.environ.get("OPENAI_BASE_URL") or "https://api.openai.com/v1").rstrip("/")
            found[f"model endpoint {redact_url(base)}"] = base
        elif kind == "local":
            found["embedded model (in process)"] = None
        else:
            found[f"model {spec} (not probed)"] = None
    return found


async def probe_endpoint(base_url: str, timeout: float) -> str:
    """``GET /models`` on an OpenAI-compatible endpoint: OK if it answers without a server error."""
    import httpx

    key = os.environ.get("OPENAI_API_KEY") or ""
    try:
        async with httpx.AsyncClient(timeout=timeout) as client:
            response = await client.get(base_url + "/models", headers={"Authorization": f"Bearer {key}"})
    except httpx.TimeoutException:
        return f"no answer within {timeout:g}s"
    except httpx.HTTPError as exc:
        return f"cannot connect ({type(exc).__name__})"
    if response.status_code in (401, 403):
        return f"rejected the API key (HTTP {response.status_code})"
    if response.status_code >= 500:
        return f"HTTP {response.status_code}"
    return OK


async def probe_database(saver: Any, timeout: float) -> str:
    """Write a pending write for a throwaway thread and delete that thread again."""
    thread = f"spri-ready-{uuid.uuid4().hex}"
    config = {"configurable": {"thread_id": thread, "checkpoint_ns": "", "checkpoint_id": "ready-probe"}}
    try:
        await asyncio.wait_for(saver.aput_writes(config, [("ready_probe", 1)], "ready-probe"), timeout)
        await asyncio.wait_for(saver.adelete_thread(thread), timeout)
    except Exception as exc:
        _LEFTOVERS.add(asyncio.create_task(_forget(saver, thread)))  # a write that lands late is removed
        if isinstance(exc, TimeoutError):
            return f"no answer within {timeout:g}s"
        return f"write failed ({type(exc).__name__}: {redact(str(exc))[:200]})"
    return OK


_LEFTOVERS: set[asyncio.Task[None]] = set()


async def _forget(saver: Any, thread: str) -> None:
    try:
        await saver.adelete_thread(thread)
    except Exception:
        pass  # the database is still down; the row (if any) is harmless: no run reads that thread
    finally:
        _LEFTOVERS.discard(asyncio.current_task())


class Readiness:
    def __init__(self, cache_seconds: float, timeout: float) -> None:
        self.cache_seconds, self.timeout = cache_seconds, timeout
        self._lock = asyncio.Lock()
        self._answer: tuple[float, bool, dict[str, str]] | None = None

    async def check(self, saver: Any) -> tuple[bool, dict[str, str]]:
        """Probe (or reuse a recent answer: a "ready" one for ``cache_seconds``, an "unavailable" one
        for at most a second, so recovery shows at once)."""
        async with self._lock:
            now = time.monotonic()
            if self._answer is not None:
                kept = self.cache_seconds if self._answer[1] else min(self.cache_seconds, FAILURE_CACHE)
                if now - self._answer[0] < kept:
                    return self._answer[1], self._answer[2]
            checks = await self._probe(saver)
            ready = not down(checks)
            self._answer = (time.monotonic(), ready, checks)
            return ready, checks

    async def _probe(self, saver: Any) -> dict[str, str]:
        targets = endpoints(model_specs())
        probed = {name: url for name, url in targets.items() if url is not None}
        results = await asyncio.gather(
            probe_database(saver, self.timeout), *(probe_endpoint(url, self.timeout) for url in probed.values())
        )
        checks = {"checkpoint database": results[0], **dict(zip(probed, results[1:], strict=True))}
        checks.update({name: NOT_PROBED for name, url in targets.items() if url is None})
        return checks


def down(checks: dict[str, str]) -> list[str]:
    return [name for name, value in checks.items() if value not in (OK, NOT_PROBED)]


def ready_body(ready: bool, checks: dict[str, str]) -> dict[str, Any]:
    return {"status": "ready" if ready else "unavailable", "down": down(checks), "checks": checks}
