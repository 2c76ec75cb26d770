"""Sub-commands that import their module only when run, so `spri --help` stays light."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from importlib import import_module
from typing import Any


def command(sub: Any, name: str, runs: str, **parser_options: Any) -> argparse.ArgumentParser:
    """The sub-command ``name`` (``parser_options``: its help, description, epilog), which runs the function
    ``runs`` names ("module:function"), imported only when the command is run."""
    parser: argparse.ArgumentParser = sub.add_parser(name, **parser_options)
    module, _, function = runs.partition(":")
    parser.set_defaults(handler=handler(module, function))
    return parser


def handler(module: str, name: str) -> Callable[[argparse.Namespace], int]:
    """A command that imports its module only when run, so `spri --help` stays light."""

    def run(args: argparse.Namespace) -> int:
        command: Callable[[argparse.Namespace], int] = getattr(import_module(module), name)
        return command(args)

    return run
