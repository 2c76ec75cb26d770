"""The command-line reference as Markdown, made from the parsers themselves: every sub-command (and
theirs, such as ``eval meta``) with its help as ``spri COMMAND --help`` prints it. The docs site builds
its CLI page from this at build time (docs/hooks.py), so a new sub-command or option appears there
without an edit. ``python -m spri.cli.reference`` prints it."""

from __future__ import annotations

import argparse
import functools
from collections.abc import Iterator

WIDTH = 100
"""The column width help is wrapped at, whatever the terminal's."""


def commands(parser: argparse.ArgumentParser, path: str = "spri") -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """``(command path, parser)`` for the parser and every sub-command under it, depth first, in the
    order they were declared."""
    yield path, parser
    # argparse has no public list of a parser's sub-commands: they are the choices (a dict of parsers) of
    # one of its actions. Should that attribute go, the reference's test fails rather than the site.
    for action in getattr(parser, "_actions", ()):
        choices = action.choices if isinstance(action.choices, dict) else {}
        for name, sub in choices.items():
            if isinstance(sub, argparse.ArgumentParser):
                yield from commands(sub, f"{path} {name}")


def markdown(parser: argparse.ArgumentParser | None = None, level: int = 2) -> str:
    """A section per command: its heading, its one-line summary and its full help in a text block."""
    if parser is None:
        from spri.cli.parsers import build_parser

        parser = build_parser()
    return "\n".join(_section(path, sub, level) for path, sub in commands(parser))


def _section(path: str, parser: argparse.ArgumentParser, level: int) -> str:
    heading = "#" * min(level + path.count(" ") - 1, 6) if " " in path else "#" * level
    formatter_class = parser.formatter_class
    parser.formatter_class = functools.partial(formatter_class, width=WIDTH)  # type: ignore[call-arg]
    try:
        help_text = parser.format_help().rstrip().replace("```", "'''")
    finally:
        parser.formatter_class = formatter_class
    return f"{heading} `{path}`\n\n```text\n{help_text}\n```\n"


if __name__ == "__main__":
    print(markdown())
