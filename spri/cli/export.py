"""`spri export`: the command-line face of :mod:`spri.batch.export` (and :mod:`spri.batch.hub`).

Records that cannot be read are left out and listed in the export's errors file, beside its first
local destination (``FILE.errors.jsonl`` for ``-o FILE``, ``DIR.errors.jsonl`` for ``--to-hf DIR``), or
as warnings on stderr when the export only goes to the Hub."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from spri.api import SpriError
from spri.batch.export import Export, Filters, export, write_rows
from spri.batch.layout import Layout, side_file


def cmd_export(args: argparse.Namespace) -> int:
    if not (args.output or args.to_hf or args.push_to_hub):
        raise SpriError("say where the export goes: -o FILE, --to-hf DIR and/or --push-to-hub REPO")
    if args.min_score is not None and not 1 <= args.min_score <= 5:
        raise SpriError(f"--min-score must be 1-5 (got {args.min_score})")
    local = [Path(p).expanduser() for p in (args.output, args.to_hf) if p]
    errors = side_file(local[0], "errors.jsonl") if local else None
    _refuse_writing_into_the_batch(Path(args.batch_output), [*local, *([errors] if errors else [])])
    if args.to_hf or args.push_to_hub:
        from spri.batch import hub

        hub.dataset_class()  # refused before anything is written, like a folder that holds other files
        if args.to_hf:
            hub.check_folder(args.to_hf)
    filters = Filters(min_score=args.min_score, stop_reason=args.stop_reason)
    result = export(args.batch_output, args.format, filters)
    if args.output:
        write_rows(result.rows, args.output)
    if args.to_hf or args.push_to_hub:
        card = hub.dataset_card(args.batch_output, args.format, filters, result)
        if args.to_hf:
            hub.save(result.rows, args.to_hf, card)
        if args.push_to_hub:
            hub.push(result.rows, args.push_to_hub, card)
    summary = {**result.counts(), "format": args.format, "output": args.output, "to_hf": args.to_hf}
    summary.update(pushed_to=args.push_to_hub, errors=_report_unreadable(result, errors))
    print(json.dumps(summary, indent=2))
    return 0


def _report_unreadable(result: Export, errors: Path | None) -> str | None:
    """The records left out as unreadable: into the errors file (replaced; removed when there are none),
    or as warnings when there is no local destination. The errors file's path, if written."""
    if errors is None:
        for entry in result.unreadable:
            print(f"spri: warning: {entry['file']}, line {entry['line']}: {entry['error']} (left out)", file=sys.stderr)
        return None
    if not result.unreadable:
        errors.unlink(missing_ok=True)  # from an earlier export to the same place
        return None
    write_rows(result.unreadable, errors)
    return str(errors)


def _refuse_writing_into_the_batch(batch: Path, targets: list[Path]) -> None:
    """No file the export writes may be the batch output, one of its side files, or inside its part folder."""
    layout = Layout.of(batch)
    for target in targets:
        if layout.holds(target):
            raise SpriError(f"{target} would overwrite the batch output {batch}: write the export elsewhere")
