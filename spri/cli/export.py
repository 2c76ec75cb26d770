"""`spri export`: the command-line face of :mod:`spri.batch.export` (and :mod:`spri.batch.hub`)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from spri.api import SpriError
from spri.batch.export import Filters, export, write_rows
from spri.batch.store import Layout


def cmd_export(args: argparse.Namespace) -> int:
    if not (args.output or args.to_hf or args.push_to_hub):
        raise SpriError("say where the export goes: -o FILE, --to-hf DIR and/or --push-to-hub REPO")
    if args.min_score is not None and not 1 <= args.min_score <= 5:
        raise SpriError(f"--min-score must be 1-5 (got {args.min_score})")
    if args.output:
        _refuse_overwriting_the_batch(Path(args.batch_output), Path(args.output))
    filters = Filters(min_score=args.min_score, stop_reason=args.stop_reason)
    result = export(args.batch_output, args.format, filters)
    if args.output:
        write_rows(result.rows, args.output)
    if args.to_hf or args.push_to_hub:
        from spri.batch import hub

        card = hub.dataset_card(args.batch_output, args.format, filters, result)
        if args.to_hf:
            hub.save(result.rows, args.to_hf, card)
        if args.push_to_hub:
            hub.push(result.rows, args.push_to_hub, card)
    summary = {**result.counts(), "format": args.format, "output": args.output, "to_hf": args.to_hf}
    summary["pushed_to"] = args.push_to_hub
    print(json.dumps(summary, indent=2))
    return 0


def _refuse_overwriting_the_batch(batch: Path, target: Path) -> None:
    layout = Layout(batch.expanduser(), batch.expanduser().is_dir())
    inside = layout.parts and target.expanduser().resolve().parent == layout.out.resolve()
    taken = [layout.out, layout.errors, layout.meta]
    if inside or any(p.exists() and target.exists() and p.samefile(target) for p in taken):
        raise SpriError(f"-o {target} would overwrite the batch output {batch}: write the export elsewhere")
