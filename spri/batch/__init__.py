"""`spri batch`: SPRI over a whole dataset, concurrently, resumable, kill-safe, on one machine or on Ray.

Each input row becomes one SPRI run. Finished items are appended to the output one complete line at a
time (see :class:`spri.jsonl.LineWriter`); failures go to the errors file with the id and a reason.
Re-running the same command skips ids already in the output, so a killed batch loses at most the items
that were in flight. ``--retry-failed`` runs only the ids in the errors file.

sources (reading rows) -> mapping (rows to inputs, ids, shards) -> selection (what to run) ->
store (the output: layout, lock, settings guard, done ids, writers) -> runner (running on an engine:
local or ray) with progress (stats, the progress line) and formats (what a record looks like, shared
with `spri export`).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_HOMES = {
    "FORMATS": "formats",
    "OutputFormat": "formats",
    "output_record": "formats",
    "register": "formats",
    "errors_path": "layout",
    "FieldMap": "mapping",
    "in_shard": "mapping",
    "parse_shard": "mapping",
    "stable_id": "mapping",
    "Stats": "progress",
    "BatchAborted": "runner",
    "run_batch": "runner",
    "read_rows": "sources",
}
"""Where each public name lives: imported on first use, so `spri --help` (which reads the format names
only) does not load the runner, the models and the graph."""


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"spri.batch.{home}"), name)
    globals()[name] = value
    return value


__all__ = [
    "FORMATS",
    "BatchAborted",
    "FieldMap",
    "OutputFormat",
    "Stats",
    "errors_path",
    "in_shard",
    "output_record",
    "parse_shard",
    "read_rows",
    "register",
    "run_batch",
    "stable_id",
]
