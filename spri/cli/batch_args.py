"""The grammar of `spri batch` (kept apart from the command, so `spri --help` loads nothing heavy)."""

from __future__ import annotations

from typing import Any

from spri.cli.export_args import add_export, add_format_option
from spri.cli.handlers import command
from spri.options import add_run_options, run_options


def add_batch(sub: Any) -> None:
    """`spri batch`, and beside it `spri export`, which reads what batch writes."""
    _add_batch(sub)
    add_export(sub)


def _add_batch(sub: Any) -> None:
    batch = command(
        sub,
        "batch",
        "spri.cli.batch:cmd_batch",
        help="run SPRI over a dataset (JSONL, CSV, Parquet, HF name) into a JSONL or part folder",
        description="Run SPRI over every row of a dataset; resumable, kill-safe, in this process or on Ray.",
    )
    batch.add_argument("input", help="JSONL, CSV or Parquet file, or a Hugging Face dataset name (needs `datasets`)")
    batch.add_argument(
        "-o",
        "--output",
        required=True,
        help="output: a JSONL file (local engine) or a folder of part files (ray engine, or a path ending in /); "
        "appended, re-runs skip finished ids",
    )
    data = batch.add_argument_group("input mapping")
    data.add_argument(
        "--field", action="append", default=[], metavar="FIELD=COLUMN", help="input column for a field; repeatable"
    )
    data.add_argument(
        "--id-field",
        help="column holding item ids (default: the column 'id' if there is one, else a hash of the inputs)",
    )
    data.add_argument("--split", default="train", help="dataset split for Hugging Face names (default train)")
    data.add_argument("--limit", type=int, help="only the first N items (of this shard)")
    data.add_argument("--shard", metavar="I/N", help="take shard I of N (a deterministic hash partition of ids)")
    data.add_argument("--retry-failed", action="store_true", help="run only the ids in OUT.errors.jsonl")
    add_format_option(data, "batch", "full")
    scale = batch.add_argument_group("throughput")
    scale.add_argument(
        "--engine",
        choices=["local", "ray"],
        default="local",
        help="local: this process (default); ray: Ray actor workers, on this machine or a cluster",
    )
    scale.add_argument(
        "--concurrency", type=int, default=8, help="items in flight at once, per worker with --engine ray (default 8)"
    )
    scale.add_argument(
        "--workers", type=int, metavar="N", help="Ray workers (default: the cluster's CPUs); total in flight N x C"
    )
    scale.add_argument(
        "--ray-address",
        metavar="ADDR",
        help="join this Ray cluster (host:port; default $RAY_ADDRESS, else a private local Ray for this run)",
    )
    scale.add_argument(
        "--base-url",
        action="append",
        default=[],
        metavar="URL",
        help="OpenAI-compatible endpoint for openai:NAME models; repeat to spread requests over several",
    )
    scale.add_argument("--max-in-flight", type=int, help="most requests in flight per endpoint (default: no cap)")
    options = [o for o in run_options() if o.field != "review_principles"]
    add_run_options(batch.add_argument_group("run options"), options)
    batch.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
