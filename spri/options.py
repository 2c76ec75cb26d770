"""Run options, defined once: :class:`spri.state.Context`'s fields (names, types, defaults, descriptions,
choices) rendered into command-line options (``ask``, ``resume``, ``batch``, ``eval``) and into the
server's client whitelist. Studio reads the same fields as the graph's context schema.
"""

from __future__ import annotations

import argparse
import typing
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic.fields import FieldInfo

from spri.state import RENAMED_FIELDS, Context, SpriError

Kind = Literal["text", "int", "flag", "choice", "pairs"]

FLAGS = {"critic_model": "--critic", "review_principles": "--review", "seed_fields": "--seed-field"}
"""Command-line names that differ from the field's (kept short, as users know them)."""
METAVARS = {"paper_seeds": "DIR"}
"""Placeholders that say more than the field name's last word."""


@dataclass(frozen=True)
class RunOption:
    """One Context field as a user-facing option."""

    field: str
    kind: Kind
    help: str
    choices: tuple[str, ...] = ()
    default: int | str | None = None
    """Shown in the help of numbers and choices (None: not shown)."""

    @property
    def flag(self) -> str:
        return FLAGS.get(self.field, "--" + self.field.replace("_", "-"))

    @property
    def former_flags(self) -> list[str]:
        """The flags of the field's former names (still accepted, not shown in the help)."""
        return ["--" + former.replace("_", "-") for former, name in RENAMED_FIELDS.items() if name == self.field]


def _kind(info: FieldInfo, schema: dict[str, Any]) -> tuple[Kind, tuple[str, ...]]:
    if "enum" in schema:  # a Literal, or a name from a table (e.g. the methods), as it is now
        return "choice", tuple(str(choice) for choice in schema["enum"])
    annotation = info.annotation
    if annotation is bool:
        return "flag", ()
    if annotation is int:
        return "int", ()
    if typing.get_origin(annotation) is dict:
        return "pairs", ()
    return "text", ()


def run_options(names: Iterable[str] | None = None) -> list[RunOption]:
    """The options for ``names`` (default: every Context field), in Context's field order, with the
    choices and help Context's JSON schema gives them now (a method added to the table is offered)."""
    wanted = set(names) if names is not None else None
    schema = Context.model_json_schema()["properties"]
    options = []
    for name, info in Context.model_fields.items():
        if wanted is not None and name not in wanted:
            continue
        field_schema = schema.get(name, {})
        kind, choices = _kind(info, field_schema)
        default = info.default if kind in ("int", "choice") and isinstance(info.default, int | str) else None
        help_text = field_schema.get("description") or info.description or ""
        options.append(RunOption(name, kind, help_text, choices, default))
    return options


def pairs(items: Sequence[str], option: str) -> dict[str, str]:
    """NAME=VALUE arguments as a dict; anything else is an error naming the option."""
    found = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise SpriError(f"{option} expects NAME=VALUE, got {item!r}")
        found[key.strip()] = value.strip()
    return found


def _add(group: argparse._ActionsContainer, option: RunOption, flag: str, help_text: str) -> None:
    if option.kind == "flag":
        group.add_argument(flag, dest=option.field, action="store_true", default=None, help=help_text)
    elif option.kind == "pairs":
        group.add_argument(flag, dest=option.field, action="append", default=None, metavar="NAME=VALUE", help=help_text)
    elif option.kind == "choice":
        group.add_argument(flag, dest=option.field, choices=option.choices, help=help_text)
    else:
        kind: Any = int if option.kind == "int" else str
        metavar = "N" if option.kind == "int" else METAVARS.get(option.field, option.field.split("_")[-1].upper())
        group.add_argument(flag, dest=option.field, type=kind, metavar=metavar, help=help_text)


def add_run_options(group: argparse._ActionsContainer, options: Sequence[RunOption]) -> None:
    """Add each option to an argparse parser or group (and its former flags, hidden from the help);
    defaults stay None ("not given")."""
    for option in options:
        help_text = option.help.replace("%", "%%")
        if option.default is not None:
            help_text += f" (default: {option.default})"
        if option.kind == "pairs":  # the command line writes a mapping as NAME=VALUE pairs
            help_text = help_text.replace("{'principles': 'constitution'}", f"{option.flag} principles=constitution")
        _add(group, option, option.flag, help_text)
        for former in option.former_flags:
            _add(group, option, former, argparse.SUPPRESS)
        if option.field == "seed_policy":
            group.add_argument(
                "--no-seeds", dest="seed_policy", action="store_const", const="none", help="zero-seed: no examples"
            )


def context_overrides(args: argparse.Namespace, options: Sequence[RunOption]) -> dict[str, Any]:
    """The Context fields given on the command line (those left unset are omitted)."""
    given: dict[str, Any] = {}
    for option in options:
        value = getattr(args, option.field, None)
        if value is None:
            continue
        given[option.field] = pairs(value, option.flag) if option.kind == "pairs" else value
    return given


def client_annotation(option: RunOption) -> Any:
    """The type a server client may send for this option (always optional)."""
    base: Any = {"int": int, "flag": bool, "text": str, "pairs": dict[str, str]}.get(option.kind, str)
    if option.kind == "choice":
        base = Literal[option.choices]
    return base | None
