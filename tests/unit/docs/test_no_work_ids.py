"""No internal work ids ("issue 16", "P9", "item 3", "stop 31") in the docs, the README, or the
docstrings and comments of the code and tests: a reader cannot look them up, so text says what a thing
does and why instead. Benchmark names inside benchmarks/ may stay where a descriptive title follows
them ("P4 — prefix reuse")."""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

import pytest

from tests.support import ROOT
from tests.support.docs import pages

WORK_ID = re.compile(
    r"(?i:\b(?:issues?|items?|stops?)\s+#?\d+(?:\.\d+)?\b(?!/))"  # issue 16, item 3, stop 31, issue 15.1
    r"|(?<![\"'`\w])P\d{1,2}\b(?![\"'`]|\s+—\s+\S|\s+\()"  # P9, not "P1" (a fake's draft), "P4 — title", "P9 (title)"
)
CODE_DIRS = ("spri", "graph", "nodes", "state", "benchmarks", "tests")
TEXT_FILES = ("SECURITY.md", "ARCHITECTURE.md", "DEVELOPERS.md", "benchmarks/RESULTS.md")


def work_ids(text: str) -> list[str]:
    return [m.group(0) for m in WORK_ID.finditer(text)]


def prose_of(source: str) -> list[tuple[int, str]]:
    """The comments and docstrings (any string standing as a statement) of a Python file, by line."""
    found = [
        (token.start[0], token.string)
        for token in tokenize.generate_tokens(io.StringIO(source).readline)
        if token.type == tokenize.COMMENT
    ]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            found.append((node.lineno, node.value.value))
    return found


def python_files() -> list[Path]:
    files = sorted(p for d in CODE_DIRS for p in (ROOT / d).rglob("*.py"))
    return [p for p in files if p != Path(__file__)]  # this file names work ids to show what is refused


@pytest.mark.parametrize("path", python_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_work_id_in_docstrings_or_comments(path: Path):
    found = [
        f"line {line}: {ids}" for line, text in prose_of(path.read_text(encoding="utf-8")) if (ids := work_ids(text))
    ]
    assert not found, f"{path.relative_to(ROOT)}: work ids in prose (say what it does instead): {found}"


@pytest.mark.parametrize(
    "path", [*pages(), *(ROOT / name for name in TEXT_FILES)], ids=lambda p: str(p.relative_to(ROOT))
)
def test_no_work_id_in_the_docs(path: Path):
    text = path.read_text(encoding="utf-8")
    assert not work_ids(text), f"{path.relative_to(ROOT)}: {work_ids(text)}"


def test_the_pattern_finds_work_ids_and_leaves_names_alone():
    assert work_ids("fixed for issue 16 (P9), see item 3 and stop 31; issue 15.1") == [
        "issue 16",
        "P9",
        "item 3",
        "stop 31",
        "issue 15.1",
    ]
    assert work_ids('drafts "P1", then "R1 for P2"; ## P4 — prefix reuse; 1 item, 3 items in flight; PP9') == []
