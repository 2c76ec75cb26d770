"""Where a batch output's files are, and the one naming rule for side files.

A JSONL output ``OUT`` has its side files beside it, named by the output's whole name plus a suffix:
``OUT.errors.jsonl`` (failed items), ``OUT.meta.json`` (the settings guard) and ``OUT.lock`` (while a
batch writes). A part folder ``OUT/`` holds ``part-00000.jsonl`` ..., ``errors.jsonl``, ``meta.json`` and
``.lock``. An export's errors file follows the same rule (``FILE.errors.jsonl`` beside ``-o FILE``).

An output is known by the file it resolves to (symlinks and ``..`` followed), so every name of one output
finds the same side files and the same lock, and a user's symlink is never replaced by a file. An errors
file under the earlier name (``NAME.errors.jsonl`` beside ``NAME.jsonl``) is still found when the output
is continued.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

PART_PREFIX = "part-"


def side_file(path: Path, suffix: str) -> Path:
    """``PATH.suffix``: the side file ``suffix`` (e.g. ``errors.jsonl``) of the file ``path``."""
    return path.with_name(f"{path.name}.{suffix}")


def resolved(out: str | Path) -> Path:
    """The path ``out`` names, absolute, with symlinks and ``..`` followed (it need not exist yet)."""
    return Path(out).expanduser().resolve()


def errors_path(out: str | Path) -> Path:
    """The errors file of an output: ``OUT.errors.jsonl``, or ``OUT/errors.jsonl`` for a part folder."""
    return Layout.of(out).errors


@dataclass(frozen=True)
class Layout:
    out: Path
    parts: bool
    errors: Path = field(init=False)
    """Settled when the layout is made (so a file a run creates does not change it)."""

    def __post_init__(self) -> None:
        current = self._side("errors.jsonl", "errors.jsonl")
        earlier = self.out.with_name(self.out.name.removesuffix(".jsonl") + ".errors.jsonl")
        continued = not self.parts and self.out.is_file() and not current.exists() and earlier.is_file()
        object.__setattr__(self, "errors", earlier if continued else current)

    @classmethod
    def of(cls, out: str | Path) -> Layout:
        """An output as it is on disk: a folder is a part folder, anything else a JSONL file."""
        path = resolved(out)
        return cls(path, path.is_dir())

    @classmethod
    def choose(cls, out: str | Path, engine: str) -> Layout:
        """An existing output keeps its shape; a new one is a file for the local engine and a part
        folder for the ray engine (or when the path ends with a slash)."""
        path = resolved(out)
        if path.exists():
            return cls(path, path.is_dir())
        return cls(path, engine == "ray" or str(out).endswith(os.sep))

    def _side(self, suffix: str, in_folder: str) -> Path:
        return self.out / in_folder if self.parts else side_file(self.out, suffix)

    @property
    def meta(self) -> Path:
        return self._side("meta.json", "meta.json")

    @property
    def lock(self) -> Path:
        return self._side("lock", ".lock")

    def side_files(self) -> list[Path]:
        """Every file beside the records that belongs to this output."""
        return [self.errors, self.meta, self.lock]

    def record_files(self) -> list[Path]:
        if not self.parts:
            return [self.out] if self.out.is_file() else []
        return sorted(self.out.glob(f"{PART_PREFIX}*.jsonl"))

    def next_part(self) -> Path:
        numbers = [int(p.stem.removeprefix(PART_PREFIX)) for p in self.record_files() if p.stem[5:].isdigit()]
        return self.out / f"{PART_PREFIX}{max(numbers, default=-1) + 1:05d}.jsonl"

    def holds(self, path: Path) -> bool:
        """Whether writing ``path`` would write into this output: the records, a side file, or (for a
        part folder) anything in it."""
        target = resolved(path)
        if self.parts and (target == self.out or self.out in target.parents):
            return True
        return any(target == resolved(p) or _same_file(target, p) for p in [self.out, *self.side_files()])


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False
