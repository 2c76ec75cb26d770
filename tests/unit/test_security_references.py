"""Every test SECURITY.md names as the proof of a promise exists, so a promise cannot outlive its test
(a renamed or deleted test fails here instead of leaving the table pointing at nothing)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = ("SECURITY.md",)
CODE_SPAN = re.compile(r"`([^`]+)`")
TEST_FILES = [path for path in (ROOT / "tests").rglob("*.py") if "__pycache__" not in path.parts]
REFERENCE = re.compile(r"^(?P<file>[\w/*.-]*\.py)?(?:::(?P<test>\w+))?$")


def references(text: str) -> list[tuple[str, str | None]]:
    """(test file pattern, test name or None) for each code span naming a test file or a test; a span
    ``::name`` names a test of the file named last before it."""
    found: list[tuple[str, str | None]] = []
    last_file = ""
    for span in (span.strip() for span in CODE_SPAN.findall(text)):
        match = REFERENCE.match(span)
        if not match or not span.startswith(("test", "::")):
            continue
        last_file = match["file"] or last_file
        found.append((last_file, match["test"]))
    return found


def files_named(pattern: str) -> list[Path]:
    """The test files a pattern names: a path from the root, or a file name (maybe a glob) under tests/."""
    if "/" in pattern:
        return sorted(ROOT.glob(pattern))
    return sorted(path for path in TEST_FILES if path.match(pattern))


def defines(paths: list[Path], test: str) -> bool:
    definition = re.compile(rf"^(?:async )?def {test}\(", re.M)
    return any(definition.search(path.read_text()) for path in paths)


def test_reading_references():
    text = "`tests/unit/a.py`, `test_b.py::test_one`, `::test_two`, `spri.api.redact`, `test_c*.py`, `x.py`"
    assert references(text) == [
        ("tests/unit/a.py", None),
        ("test_b.py", "test_one"),
        ("test_b.py", "test_two"),
        ("test_c*.py", None),
    ]


def test_every_test_named_in_the_security_promises_exists():
    missing = []
    for document in DOCUMENTS:
        named = references((ROOT / document).read_text())
        assert len(named) > 50, f"{document}: the reading of test references found too few"
        for pattern, test in named:
            paths = files_named(pattern)
            if not paths:
                missing.append(f"{document}: {pattern} (no such test file)")
            elif test and not defines(paths, test):
                missing.append(f"{document}: {pattern}::{test} (no such test)")
    assert not missing, "\n".join(missing)
