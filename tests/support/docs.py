"""The fenced code blocks of the README and of every page under docs/, with the marker before each.

A block in a language a user runs (:data:`RUNNABLE`) is run by ``tests/unit/docs/test_docs_examples.py``
unless an HTML comment on the line before it says otherwise:

- ``<!-- not-run: REASON -->``: not run, for the reason given (a server that stays up, a cluster, data
  from outside the repository, an interactive prompt);
- ``<!-- run-by: tests/PATH.py::test_name -->``: run by that test (one that needs more than the
  fast lane has: a real server, the embedded model).

Pages are found by globbing, so a new page is covered without a change here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from tests.support import ROOT

RUNNABLE = frozenset({"bash", "sh", "shell", "console", "python", "py", "pycon"})
"""Languages whose blocks are commands or programs to run; other blocks (json, text, yaml, ini, toml,
mermaid) show output or the content of a file."""

MARKER = re.compile(r"^\s*<!--\s*(not-run|run-by):\s*(.*?)\s*-->\s*$")
FENCE = re.compile(r'^(\s*)```([\w-]*)(?:\s+title="([^"]+)")?\s*$')


@dataclass(frozen=True)
class Block:
    page: Path
    line: int
    """The line of the opening fence (1-based)."""
    language: str
    text: str
    title: str = ""
    """The block's ``title="..."`` (a file's name, shown above it on the site)."""
    marker: str | None = None
    """``not-run``, ``run-by`` or None."""
    detail: str = ""
    """The marker's reason or test."""

    @property
    def runnable(self) -> bool:
        return self.language in RUNNABLE

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def pages() -> list[Path]:
    """The README and every Markdown page under docs/."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def page_blocks(page: Path) -> list[Block]:
    """Every fenced block of a page, dedented as far as its fence is (blocks inside list items)."""
    found: list[Block] = []
    lines = page.read_text(encoding="utf-8").splitlines()
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if not opening:
            index += 1
            continue
        indent, language, title = len(opening.group(1)), opening.group(2), opening.group(3) or ""
        end = index + 1
        while end < len(lines) and lines[end].strip() != "```":
            end += 1
        body = "".join(line[indent:] + "\n" for line in lines[index + 1 : end])
        before = next((lines[i] for i in range(index - 1, -1, -1) if lines[i].strip()), "")
        marker = MARKER.match(before)
        kind, detail = (marker.group(1), marker.group(2)) if marker else (None, "")
        found.append(Block(page, index + 1, language, body, title, kind, detail))
        index = end + 1
    return found


def all_blocks() -> list[Block]:
    return [block for page in pages() for block in page_blocks(page)]


def docs_block(first_line: str) -> str:
    """The text of the block, on any page, whose first line is ``first_line``."""
    for block in all_blocks():
        if block.text.startswith(first_line):
            return block.text
    raise AssertionError(f"no block in the README or docs/ starting with {first_line!r}")
