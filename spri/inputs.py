"""A run's validated settings (:class:`Context`) and input (:class:`Input`), with errors naming the
field, checked before any model is called."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from spri import models
from spri.nodes.profiles import (
    builtin_profiles,
    load_profile,
    load_seeds,
    plan_of,
    profile_of,
    select_seeds,
    with_released_seeds,
)
from spri.state import Context, Input, InputError, SpriError, check_input
from spri.state.columns import SEED_FIELDS
from spri.state.errors import problem_text


def make_context(context: Context | Mapping[str, Any] | None = None, **options: Any) -> Context:
    """A validated Context from an object or mapping plus keyword overrides; errors name the field."""
    if isinstance(context, Context) and not any(v is not None for v in options.values()):
        # Used as is (batch items share one): its fields were validated when it was built, and a bad
        # profile, seeds file or model spec is still reported clearly where it is first used.
        return context
    # the fields the caller set stay the ones set (a profile's seed policy applies where the run set none)
    base = context.model_dump(exclude_unset=True) if isinstance(context, Context) else dict(context or {})
    if isinstance(context, Context):  # keep model objects as objects
        base["model"], base["critic_model"] = context.model, context.critic_model
    base.update({k: v for k, v in options.items() if v is not None})
    try:
        ctx = Context(**base)
    except ValidationError as exc:
        raise SpriError(describe(exc, "setting")) from exc
    ctx = _absolute_paths(ctx)
    load_profile(ctx.profile)  # fail now, not mid-run, on an unknown or malformed profile or seeds
    _check_seed_fields(ctx)
    ctx = with_released_seeds(ctx)  # the paper's seed file in place (kept with the thread), or a refusal
    load_seeds(ctx.seeds, ctx.profile, ctx.seed_fields)
    models.resolve(ctx.model, ctx.max_tokens)  # and on a model spec that cannot work (no key, no file)
    models.resolve(ctx.critic, ctx.max_tokens)
    return ctx


def _absolute_paths(ctx: Context) -> Context:
    """Profile and seed files by absolute path, so a thread continues from any directory."""
    update = {}
    if ctx.profile not in builtin_profiles() and Path(ctx.profile).expanduser().is_file():
        update["profile"] = str(Path(ctx.profile).expanduser().resolve())
    if ctx.seeds != "default" and Path(ctx.seeds).expanduser().is_file():
        update["seeds"] = str(Path(ctx.seeds).expanduser().resolve())
    if ctx.paper_seeds and Path(ctx.paper_seeds).expanduser().is_dir():
        update["paper_seeds"] = str(Path(ctx.paper_seeds).expanduser().resolve())
    return ctx.model_copy(update=update) if update else ctx


def _check_seed_fields(ctx: Context) -> None:
    """Seed-file columns map only to fields a seed example can show."""
    fields = profile_of(ctx).field_names()
    unknown = [name for name in ctx.seed_fields if name not in SEED_FIELDS and name not in fields]
    if unknown:
        raise SpriError(
            f"setting 'seed_fields': {', '.join(repr(n) for n in unknown)} is no seed field "
            f"(seed fields: {', '.join(dict.fromkeys([*SEED_FIELDS, *fields]))})"
        )


def make_input(query: str | Input | Mapping[str, Any], ctx: Context, **fields: Any) -> Input:
    """A validated Input for the context's profile and method. A field the profile declares may come
    by name (in a mapping) or in ``extra``; a field the profile does not take, a missing one or an empty
    query is an InputError naming it, before any model is called."""
    if isinstance(query, Input):
        data = query.model_dump()
    elif isinstance(query, Mapping):
        data = dict(query)
    else:
        data = {"query": query}
    data.update({k: v for k, v in fields.items() if v is not None})
    data = _fields_in_place(data)
    try:
        inputs = Input(**data)
    except ValidationError as exc:
        raise InputError(describe(exc, "input field")) from exc
    check_input(inputs, plan_of(ctx), profile_of(ctx), ctx.protocol)
    _warn_about_seed_selection(inputs, ctx)
    return inputs


def _warn_about_seed_selection(inputs: Input, ctx: Context) -> None:
    """Say so when the category seed policy silently shows all seeds, or none."""
    ctx = with_released_seeds(ctx)
    if plan_of(ctx).principles != "draft" or ctx.seed_policy != "category":
        return
    seeds = load_seeds(ctx.seeds, ctx.profile, ctx.seed_fields)
    if not inputs.category:
        warnings.warn(
            f"seed_policy 'category' without a category: all {len(seeds)} seed examples are shown "
            "(give the input's category, e.g. --category)",
            stacklevel=3,
        )
    elif not select_seeds(seeds, "category", inputs.category):
        have = sorted({s.category for s in seeds if s.category})
        warnings.warn(
            f"no seed example has category {inputs.category!r}, so none is shown "
            f"(the seeds have: {', '.join(have) or 'no categories'})",
            stacklevel=3,
        )


def _fields_in_place(data: dict[str, Any]) -> dict[str, Any]:
    """Input fields where :class:`Input` keeps them: a named field given in ``extra`` by its own name, any
    other name in ``extra`` (the profile's check then says whether it takes it)."""
    extra = data.get("extra")
    if extra is not None and not isinstance(extra, Mapping):
        return data  # Input's validation names it
    extra = dict(extra or {})
    for name in [key for key in data if key not in Input.model_fields]:
        extra[str(name)] = data.pop(name)
    for name in [key for key in extra if key in Input.model_fields and key != "extra"]:
        value = extra.pop(name)
        if data.get(name) not in (None, "", value):
            raise InputError(f"input field '{name}' is given twice, with different texts")
        data[name] = value
    data["extra"] = extra
    return data


def describe(exc: ValidationError, what: str) -> str:
    """A pydantic validation error as one line naming each field at fault."""
    return "; ".join(_problem(err, what) for err in exc.errors())


def _problem(err: Any, what: str) -> str:
    loc = ".".join(str(p) for p in err["loc"])
    if loc == "query" and (err["type"] == "missing" or err.get("input") in (None, "")):
        return "the query is empty: give the text to answer"
    if err["type"] == "extra_forbidden":
        return f"'{loc}' is no {what} (a profile's other input fields go in extra)"
    message = problem_text(err)
    return f"{what} '{loc}': {message}" if loc else message
