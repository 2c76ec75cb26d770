"""What goes wrong with a checkpoint database, as errors a user can act on."""

from __future__ import annotations

import sqlite3

from spri.state.errors import SpriError


class StorageError(SpriError):
    """A checkpoint database that cannot be opened or used; the message names it (without its password)."""


class DatabaseUnavailable(StorageError):
    """The checkpoint database stopped answering while in use (a restart, a network cut). Finished steps
    are stored; the run can be continued once the database is back."""


class ThreadBusy(SpriError):
    """Another run (in this process or another one) is running the thread."""

    def __init__(self, thread_id: str) -> None:
        super().__init__(f"thread '{thread_id}' is busy: another run is using it; try again when that run has finished")
        self.thread_id = thread_id


def is_database_error(exc: BaseException) -> bool:
    """sqlite3 and psycopg errors (a model or input error passing through is not one)."""
    return isinstance(exc, sqlite3.Error) or type(exc).__module__.startswith("psycopg")


def first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]
