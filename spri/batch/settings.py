"""The settings a batch output was made with, kept beside it (``OUT.meta.json``, or ``OUT/meta.json`` for a
part directory), and the guard that keeps one output to one set of settings.

*Content* settings decide what the records say (models, profile, method, scores, rounds, seeds, field
mapping, output format); a run into an output made with other content settings stops before anything
is written, naming the setting. *Execution* settings (engine, workers, concurrency, cluster address,
endpoints, speculation) only decide how fast the records come and may change from run to run.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from spri.api import RENAMED_FIELDS, Context, SpriError
from spri.batch.layout import Layout
from spri.options import run_options

MARKER = "spri_batch_output"
VERSION = 1
NOT_CONTENT = ("review_principles", "speculate")
"""Context fields that do not decide what a record says: review never pauses a batch, and speculation
changes only time and wasted calls (recorded with the execution settings)."""

DERIVED_FLAGS = {
    "format": "--format",
    "fields": "--field (the column mapping)",
    "id_field": "--id-field",
    "profile_sha256": "the profile file's content",
    "seeds_sha256": "the seeds file's content",
}


class SettingsMismatch(SpriError):
    """The output was made with other content settings."""


def file_digest(path: str) -> str | None:
    """sha256 of a user's file (a profile or seeds path); None for built-in names."""
    candidate = Path(path).expanduser()
    if not candidate.is_file():
        return None
    return hashlib.sha256(candidate.read_bytes()).hexdigest()


def content_settings(ctx: Context, fmt: str, columns: Mapping[str, str], id_field: str | None) -> dict[str, Any]:
    """What decides the records' content: the run's Context (models by name) plus the format and the
    resolved column mapping, and the digests of user-supplied profile and seeds files."""
    content: dict[str, Any] = {k: v for k, v in json.loads(ctx.to_json()).items() if k not in NOT_CONTENT}
    content.update(format=fmt, fields=dict(sorted(columns.items())), id_field=id_field)
    content["profile_sha256"] = file_digest(ctx.profile)
    content["seeds_sha256"] = file_digest(ctx.seeds)
    return content


def flag(setting: str) -> str:
    flags = {option.field: option.flag for option in run_options()}
    return flags.get(setting) or DERIVED_FLAGS.get(setting) or setting


def differing(saved: Mapping[str, Any], current: Mapping[str, Any]) -> str | None:
    """The first content setting whose value differs. A setting newer than the saved file counts as
    equal when the current run leaves it at its default. A setting saved under a former name counts under
    its name now."""
    saved = {RENAMED_FIELDS.get(key, key): value for key, value in saved.items()}
    for key, value in current.items():
        if key in saved:
            if saved[key] != value:
                return key
        elif key in Context.model_fields and value != _default(key):
            return key
    return None


def _default(key: str) -> Any:
    default = Context.model_fields[key].get_default(call_default_factory=True)
    return default.model_dump() if hasattr(default, "model_dump") else default


def read_meta(path: Path) -> dict[str, Any] | None:
    if not path.exists():
        return None
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SpriError(
            f"{path} is not readable ({exc}); it records the settings of the output beside it: restore "
            "it, or write to another -o"
        ) from exc
    if not isinstance(meta, dict) or meta.get(MARKER) != VERSION or not isinstance(meta.get("content"), dict):
        raise SpriError(f"{path} is not a spri batch settings file; write to another -o")
    return meta


def check(meta: Mapping[str, Any], content: Mapping[str, Any], out: Path, meta_path: Path) -> None:
    """Stop (nothing written) if ``out`` was made with other content settings."""
    key = differing(meta["content"], content)
    if key is None:
        return
    raise SettingsMismatch(
        f"{out} was made with {flag(key)} {_show(meta['content'].get(key))}, this run has "
        f"{_show(content.get(key))} (see {meta_path}); use the same settings to continue it, or another -o"
    )


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value


def takes_id_column(layout: Layout) -> bool:
    """Whether a column named ``id`` holds the ids when --id-field names none: yes for a new output and
    one made that way; no for an output made with hashed ids (its settings say ``id_field: null``, or it
    has records but no settings file, from before settings files), so continuing it keeps its ids."""
    meta = read_meta(layout.meta)
    if meta is not None:
        return "id_field" not in meta["content"] or meta["content"]["id_field"] is not None
    return not any(path.stat().st_size for path in layout.record_files())


def write_meta(
    path: Path, previous: Mapping[str, Any] | None, content: Mapping[str, Any], run: Mapping[str, Any]
) -> None:
    """Record the settings (content kept from the first run, the latest run's execution settings), atomically."""
    now = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    meta = {
        MARKER: VERSION,
        "created": (previous or {}).get("created", now),
        "updated": now,
        "content": dict(previous["content"]) if previous else dict(content),
        **{k: v for k, v in run.items() if k != "content"},
    }
    temporary = path.with_name(path.name + ".tmp")
    with temporary.open("w", encoding="utf-8") as handle:
        json.dump(meta, handle, indent=2, ensure_ascii=False)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
