"""A folder or file no one can write into, also when the tests run as root (who ignores permission bits)."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


@contextmanager
def unwritable_dir(path: Path) -> Iterator[Path]:
    """``path`` created and made unwritable: mode 555 for a normal user; for root, the immutable
    attribute (chattr +i), or the test is skipped where the file system has none."""
    path.mkdir(parents=True, exist_ok=True)
    with unwritable(path):
        yield path


@contextmanager
def unwritable_file(path: Path) -> Iterator[Path]:
    """An existing file made unwritable the same way (mode 444, or chattr +i for root)."""
    with unwritable(path):
        yield path


@contextmanager
def unwritable(path: Path) -> Iterator[None]:
    """An existing file or folder without its write bits (for root: immutable) until the block ends."""
    if os.geteuid() != 0:
        mode = stat.S_IMODE(path.stat().st_mode)
        path.chmod(mode & ~0o222)
        try:
            yield
        finally:
            path.chmod(mode)
        return
    chattr = shutil.which("chattr")
    if not chattr or subprocess.run([chattr, "+i", str(path)], capture_output=True).returncode != 0:
        pytest.skip(f"running as root where chattr +i is not available: no way to make {path} read-only")
    try:
        yield
    finally:
        subprocess.run([chattr, "-i", str(path)], check=True)
