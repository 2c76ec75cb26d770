"""`spri batch`: SPRI over a whole dataset, concurrently, resumable, kill-safe, on one machine or on Ray.

Each input row becomes one SPRI run. Finished items are appended to the output one complete line at a
time (see :class:`spri.jsonl.LineWriter`); failures go to the errors file with the id and a reason.
Re-running the same command skips ids already in the output, so a killed batch loses at most the items
that were in flight. ``--retry-failed`` runs only the ids in the errors file.

sources (reading rows) -> mapping (rows to inputs, ids, shards) -> selection (what to run) ->
store (the output: lock, settings guard, done ids, writers) -> runner (running on an engine: local or
ray) with progress (stats, the progress line) and records (output formats).
"""

from spri.batch.mapping import FieldMap, in_shard, parse_shard, stable_id
from spri.batch.progress import Stats
from spri.batch.records import Format, output_record
from spri.batch.runner import BatchAborted, run_batch
from spri.batch.sources import read_rows
from spri.batch.store import errors_path

__all__ = [
    "BatchAborted",
    "FieldMap",
    "Format",
    "Stats",
    "errors_path",
    "in_shard",
    "output_record",
    "parse_shard",
    "read_rows",
    "run_batch",
    "stable_id",
]
