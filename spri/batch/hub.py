"""An export as a Hugging Face ``datasets`` dataset: saved to a folder with a dataset card, or pushed to
the Hub (``pip install 'spri[hf]'``; the push uses the usual Hugging Face token, e.g. ``HF_TOKEN``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from spri import __version__
from spri.api import SpriError
from spri.batch.export import Export, Filters

CARD_HEADER = """---
tags:
- spri
- synthetic
- {fmt}
configs:
- config_name: default
  data_files:
  - split: train
    path: data/train-*
---
"""


def dataset_card(source: str, fmt: str, filters: Filters, result: Export) -> str:
    """A README for the dataset: where it came from, the settings it was made with, what was left out."""
    meta = result.meta or {}
    content = meta.get("content", {})
    lines = [
        CARD_HEADER.format(fmt=fmt),
        f"# SPRI synthetic data ({fmt})",
        "",
        f"Made with SPRI (Situated-PRInciples) `spri batch` (spri {__version__}) and exported with "
        f"`spri export --format {fmt}`.",
        "",
        f"- source: `{source}` (batch input: `{meta.get('input', 'unknown')}`)",
        f"- models: base `{content.get('model', 'unknown')}`, critic `{content.get('critic_model') or 'same'}`",
        f"- rows: {len(result.rows)} of {result.read} records read"
        + "".join(f"; {n} left out ({why.replace('_', ' ')})" for why, n in sorted(result.left_out.items())),
        f"- filters: min score {filters.min_score or 'none'}, stop reason {filters.stop_reason or 'any'}",
        "",
        "Columns besides the format's own: `id`, `prompt_id` (a hash of the prompt), `score` (the critic's "
        "final score, 1-5), `stop_reason` (why the response stage stopped).",
        "",
        "## Settings of the batch",
        "",
        "```json",
        json.dumps(content, indent=2, ensure_ascii=False),
        "```",
        "",
    ]
    return "\n".join(lines)


def _dataset(rows: list[dict[str, Any]]) -> Any:
    try:
        import datasets
    except ImportError as exc:
        raise SpriError("--to-hf and --push-to-hub need the datasets library: pip install 'spri[hf]'") from exc
    return datasets.Dataset.from_list(rows)


def save(rows: list[dict[str, Any]], folder: str | Path, card: str) -> None:
    target = Path(folder).expanduser()
    try:
        _dataset(rows).save_to_disk(str(target))
        (target / "README.md").write_text(card, encoding="utf-8")
    except OSError as exc:
        raise SpriError(f"cannot save the dataset to {target}: {exc}") from exc


def push(rows: list[dict[str, Any]], repo: str, card: str) -> None:
    """The rows and the card to the dataset repository ``repo`` on the Hub."""
    dataset = _dataset(rows)
    try:
        from huggingface_hub import HfApi

        dataset.push_to_hub(repo)
        HfApi().upload_file(
            path_or_fileobj=card.encode("utf-8"), path_in_repo="README.md", repo_id=repo, repo_type="dataset"
        )
    except Exception as exc:
        raise SpriError(f"cannot push the dataset to the Hub repository {repo}: {exc}") from exc
