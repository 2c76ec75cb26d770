"""Sub-commands that import their module only when run, so `spri --help` stays light."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from importlib import import_module


def handler(module: str, name: str) -> Callable[[argparse.Namespace], int]:
    """A command that imports its module only when run, so `spri --help` stays light."""

    def run(args: argparse.Namespace) -> int:
        command: Callable[[argparse.Namespace], int] = getattr(import_module(module), name)
        return command(args)

    return run
