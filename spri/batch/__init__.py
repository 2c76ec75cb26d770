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

from spri.batch.formats import FORMATS, OutputFormat, output_record, register
from spri.batch.layout import errors_path
from spri.batch.mapping import FieldMap, in_shard, parse_shard, stable_id
from spri.batch.progress import Stats
from spri.batch.runner import BatchAborted, run_batch
from spri.batch.sources import read_rows

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
