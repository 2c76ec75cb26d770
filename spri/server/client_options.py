"""What a client may send: the input schema, and the few run options allowed in ``config.configurable``.

Anything else in the config is refused with HTTP 400 before any model call, so a client can never point
the server's model at its own URL (and receive the server's API key) or make it read server files.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from typing import Any

from pydantic import Field, ValidationError, create_model

from spri.api import METHODS, RENAMED_FIELDS, Context, Input, Result, SpriError, builtin_profiles
from spri.options import client_annotation, run_options
from spri.server.schemas import PlaygroundSchema, shown_without_null
from spri.server.threads import thread_id_problem

CLIENT_FIELDS = (
    "min_score",
    "max_rounds",
    "profile",
    "method",
    "protocol",
    "random_pick",
    "review_principles",
    "speculate",
    "conversation_chars",
)
"""Context fields a client may set as they are (``profile`` restricted to built-in names)."""


def _client_options() -> dict[str, tuple[Any, str]]:
    options: dict[str, tuple[Any, str]] = {
        "thread_id": (
            str | None,
            "Thread to run on; runs on one thread share its checkpoint history. Sent again after a failure "
            "(with the same query, or with no query), the run continues where it stopped.",
        )
    }
    for option in run_options(CLIENT_FIELDS):
        options[option.field] = (client_annotation(option), option.help)
    options["profile"] = (str | None, f"Built-in profile: {', '.join(builtin_profiles())}.")
    options["seeds"] = (str | None, "'default' (the profile's seed examples) or 'none' (zero-seed).")
    return {name: (shown_without_null(annotation), help) for name, (annotation, help) in options.items()}


CLIENT_OPTIONS = _client_options()
"""The only run options a client may send (config.configurable); everything else is refused."""


class _PlaygroundInput(PlaygroundSchema, Input):
    pass


class ServerResult(PlaygroundSchema, Result):
    """The result as the server returns it (its JSON schema without null branches)."""


ServerInput = create_model(
    "SpriInput",
    __base__=_PlaygroundInput,
    query=(
        str | None,
        Field(default=None, description="The input text (leave empty to continue or resume a thread)."),
    ),
    resume=(
        Any,
        Field(default=None, description="Answer to a paused review, in any form spri.api accepts (e.g. 'approve')."),
    ),
)


class ClientConfigError(SpriError):
    pass


def check_client_options(configurable: MutableMapping[str, Any]) -> dict[str, Any]:
    """The context options a client asked for, or ClientConfigError naming what is not allowed (a former
    name of an option counts as the option)."""
    configurable = {RENAMED_FIELDS.get(key, key): value for key, value in configurable.items()}
    unknown = sorted(set(configurable) - set(CLIENT_OPTIONS))
    if unknown:
        raise ClientConfigError(
            f"config key(s) not allowed: {', '.join(unknown)} (allowed: {', '.join(CLIENT_OPTIONS)})"
        )
    options = {k: v for k, v in configurable.items() if v not in (None, "") and k != "thread_id"}
    if "profile" in options and options["profile"] not in builtin_profiles():
        raise ClientConfigError(f"profile must be one of {', '.join(builtin_profiles())}")
    if "method" in options and options["method"] not in METHODS:
        raise ClientConfigError(f"method must be one of {', '.join(METHODS)}")
    if "seeds" in options:
        choice = options.pop("seeds")
        if choice not in ("default", "none"):
            raise ClientConfigError("seeds must be 'default' or 'none'")
        options["seed_policy" if choice == "none" else "seeds"] = "none" if choice == "none" else "default"
    thread_id = configurable.get("thread_id")
    problem = thread_id_problem(thread_id) if thread_id not in (None, "") else None
    if problem:
        raise ClientConfigError(problem)
    try:  # values checked now, so even a stream is refused with 400 before it starts
        Context(**options)
    except ValidationError as exc:
        wrong = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ClientConfigError(f"config option {wrong}") from None
    return options


def check_input_keys(given: Mapping[str, Any]) -> None:
    """ClientConfigError naming the keys of a request's input that are no input field (LangServe drops
    them before the run sees them, so a typo such as ``kitchn`` would otherwise run without it)."""
    unknown = sorted(set(given) - set(ServerInput.model_fields))
    if unknown:
        names = ", ".join(repr(name) for name in unknown)
        raise ClientConfigError(
            f"the input has no field {names}; it takes: {', '.join(ServerInput.model_fields)} "
            "(a profile's own fields go in 'extra')"
        )


def _client_inputs(body: Any) -> list[Mapping[str, Any]]:
    """Every input a request body carries as a mapping (invoke/stream: ``input``; batch: ``inputs``)."""
    if not isinstance(body, dict):
        return []
    inputs = body["inputs"] if isinstance(body.get("inputs"), list) else [body.get("input")]
    return [given for given in inputs if isinstance(given, dict)]


def _client_configs(body: Any) -> list[dict[str, Any]]:
    """Every config a request body carries (invoke/stream: one; batch: one or a list)."""
    if not isinstance(body, dict):
        return []
    config = body.get("config")
    configs = config if isinstance(config, list) else [config]
    return [c for c in configs if isinstance(c, dict)]


async def per_request_config(config: dict[str, Any], request: Any) -> dict[str, Any]:
    """Refuse non-whitelisted options as the client sent them; take the thread id from a header."""
    from fastapi import HTTPException

    try:
        body = await request.json() if request.method == "POST" else None
    except (ValueError, UnicodeDecodeError):
        body = None
    try:
        for sent in _client_configs(body):
            check_client_options(dict(sent.get("configurable") or {}))
        for given in _client_inputs(body):
            check_input_keys(given)
        configurable = dict(config.get("configurable") or {})
        header_thread = request.headers.get("x-thread-id")
        if header_thread:
            configurable["thread_id"] = header_thread
        check_client_options(configurable)
    except SpriError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from exc
    return {**config, "configurable": configurable}
