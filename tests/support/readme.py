"""The README's and the docs pages' code blocks, for tests that run them as written (see
:mod:`tests.support.docs`, which finds them on every page)."""

from __future__ import annotations

from tests.support.docs import docs_block


def readme_block(marker: str) -> str:
    """The fenced code block, in the README or a page under docs/, whose first line is ``marker``."""
    return docs_block(marker)
