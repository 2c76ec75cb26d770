"""Evaluation: reproduce the paper's tables from released data, or compare methods live."""

from __future__ import annotations

from collections.abc import Sequence


def check_methods(methods: Sequence[str], known: Sequence[str]) -> None:
    """Refuse, naming them, methods a live evaluation does not know."""
    unknown = [m for m in methods if m not in known]
    if unknown:
        from spri.api import SpriError  # here: `spri --help` loads this package, and needs no model or graph

        raise SpriError(f"unknown method(s) {', '.join(unknown)}: choose from {', '.join(known)}")
