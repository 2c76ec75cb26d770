"""A folder no one can write into, also when the tests run as root (who ignores permission bits)."""

from __future__ import annotations

import os
import shutil
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
    if os.geteuid() != 0:
        path.chmod(0o555)
        try:
            yield path
        finally:
            path.chmod(0o755)
        return
    chattr = shutil.which("chattr")
    if not chattr or subprocess.run([chattr, "+i", str(path)], capture_output=True).returncode != 0:
        pytest.skip("running as root where chattr +i is not available: no way to make a read-only folder")
    try:
        yield path
    finally:
        subprocess.run([chattr, "-i", str(path)], check=True)
