"""An export as a Hugging Face ``datasets`` dataset: saved to a folder with a dataset card, or pushed to
the Hub (``pip install 'spri[hf]'``; the push uses the usual Hugging Face token, e.g. ``HF_TOKEN``).

A saved folder has the layout of a dataset repository on the Hub, the one ``push_to_hub`` makes: the
card as ``README.md`` and the rows as ``data/train-00000-of-00001.parquet``, which the card's
``data_files`` (``data/train-*``) name. So ``datasets.load_dataset(FOLDER)`` reads it as written (offline
too), and the folder can be uploaded as it is. A folder is saved whole: a new save replaces an earlier
one, and a folder that holds anything else is refused."""

from __future__ import annotations

import json
import shutil
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
DATA_FILE = Path("data") / "train-00000-of-00001.parquet"
"""Where a saved folder keeps the rows (as ``push_to_hub`` names them in a repository)."""


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


def dataset_class() -> Any:
    """``datasets.Dataset``, or an error saying what to install."""
    try:
        import datasets
    except ImportError as exc:
        raise SpriError("--to-hf and --push-to-hub need the datasets library: pip install 'spri[hf]'") from exc
    return datasets.Dataset


def _dataset(rows: list[dict[str, Any]]) -> Any:
    return dataset_class().from_list(rows)


def check_folder(folder: str | Path) -> Path:
    """``folder`` may take a saved dataset: new, empty, or an earlier save (nothing else in it)."""
    target = Path(folder).expanduser()
    if target.exists() and not target.is_dir():
        raise SpriError(f"--to-hf {target} is a file; name a folder for the dataset")
    others = [p.name for p in target.iterdir() if not _dataset_file(p)] if target.is_dir() else []
    if others:
        raise SpriError(
            f"--to-hf {target} holds other files ({', '.join(sorted(others)[:3])}); save the dataset to a new "
            "or empty folder"
        )
    return target


def _dataset_file(path: Path) -> bool:
    """A file an earlier save made: the card, or a shard of rows under data/."""
    if path.name == "README.md" and path.is_file():
        return True
    return path.name == "data" and path.is_dir() and all(p.match("train-*.parquet") for p in path.iterdir())


def save(rows: list[dict[str, Any]], folder: str | Path, card: str) -> None:
    """The dataset and its card, saved into a fresh folder beside ``folder`` and then moved in its place
    (no shard of an earlier, larger save is left behind)."""
    target = check_folder(folder)
    fresh = target.with_name(f".{target.name}.saving")
    old = target.with_name(f".{target.name}.old")
    try:
        for leftover in (fresh, old):
            shutil.rmtree(leftover, ignore_errors=True)
        (fresh / DATA_FILE).parent.mkdir(parents=True)
        _dataset(rows).to_parquet(str(fresh / DATA_FILE))
        (fresh / "README.md").write_text(card, encoding="utf-8")
        if target.exists():
            target.rename(old)
        fresh.rename(target)
        shutil.rmtree(old, ignore_errors=True)
    except OSError as exc:
        shutil.rmtree(fresh, ignore_errors=True)
        if old.exists() and not target.exists():
            old.rename(target)  # the earlier save back in its place
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
