"""`spri batch`: SPRI over a whole dataset, concurrently, resumable, kill-safe.

Each input row becomes one SPRI run. Finished items are appended to the output JSONL one complete line
at a time (see :class:`spri.jsonl.AppendLog`); failures go to ``OUT.errors.jsonl`` with the id and a
reason. Re-running the same command skips ids already in the output, so a killed batch loses at most
the items that were in flight. ``--retry-failed`` runs only the ids in the errors file.

sources (reading rows) -> mapping (rows to inputs, ids, shards) -> selection (what to run) ->
runner (running, writing) with progress (stats, the progress line) and records (output formats).
"""

from spri.batch.mapping import FieldMap, in_shard, parse_shard, stable_id
from spri.batch.records import Format, output_record
from spri.batch.runner import BatchAborted, errors_path, run_batch
from spri.batch.sources import read_rows

__all__ = [
    "BatchAborted",
    "FieldMap",
    "Format",
    "errors_path",
    "in_shard",
    "output_record",
    "parse_shard",
    "read_rows",
    "run_batch",
    "stable_id",
]
