"""Errors a user can act on. Every message names the input, file, setting or model at fault."""


class SpriError(ValueError):
    """Base class: bad input, configuration, file, or a model/endpoint problem the user can fix."""


class InputError(SpriError):
    """The input of a run is unusable (empty query, a field the profile or method needs is missing)."""


class ProfileError(SpriError):
    """A profile or seed file that cannot be used."""
