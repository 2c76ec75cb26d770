"""Errors a user can act on. Every message names the input, file, setting or model at fault."""

from typing import Any


class SpriError(ValueError):
    """Base class: bad input, configuration, file, or a model/endpoint problem the user can fix."""


class InputError(SpriError):
    """The input of a run is unusable (empty query, a field the profile or method needs is missing)."""


class ProfileError(SpriError):
    """A profile or seed file that cannot be used."""


def problem_text(error: Any) -> str:
    """One pydantic validation error's message for a user: a validator's own words without the
    ``Value error, `` (or ``Assertion failed, ``) that pydantic puts in front of them."""
    message = str(error["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    return message
