"""The README's code blocks, for tests that run them as written."""

from __future__ import annotations

import re

from tests.support import ROOT

README = ROOT / "README.md"


def readme_block(marker: str) -> str:
    """The fenced code block of the README whose first line is ``marker``."""
    for block in re.findall(r"```\w*\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL):
        if block.startswith(marker):
            return block
    raise AssertionError(f"no README block starting with {marker!r}")
