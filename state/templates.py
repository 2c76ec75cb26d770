"""What a profile's templates may use: the sandboxed Jinja2 environment, the names the renderer fills
with the profile's own text (never with input), and the checks a template passes when a profile loads."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, TypedDict

from jinja2 import StrictUndefined, TemplateError, meta, nodes
from jinja2.sandbox import SandboxedEnvironment

_jinja = SandboxedEnvironment(
    undefined=StrictUndefined, keep_trailing_newline=False, autoescape=False, trim_blocks=True, lstrip_blocks=True
)


@lru_cache(maxsize=512)
def compile_template(template: str) -> Any:
    return _jinja.from_string(template)


class PromptParts(TypedDict, total=False):
    """What a template is shown besides the input fields. The renderer and the stages fill these
    names; an input field never does (a profile cannot declare a field by one of these names)."""

    input: str
    """The stage's input fields, each under its label."""
    principles: str | None
    """The principles: a seed example's, stage 1's, or those given with the input or by the method."""
    draft: str
    """The draft under review or revision."""
    feedback: str
    """What the revision answers: the critique's feedback, a reviewer's note, or the next principle."""
    examples: list[str]
    """The seed examples, each rendered through the profile's example template."""
    example_requests: list[str]
    """Each seed example's request alone, in the order of ``examples`` (for a model that shows only the
    examples whose request fits the query)."""
    conversation: str
    """The conversation before the query (``Input.messages``), one ``Role: text`` block per turn, the
    newest that fit ``Context.conversation_chars``, after a marker saying how many older turns were left
    out; empty without a conversation."""
    max_chars: int
    """The grammar's character budget for a reply."""
    scale: str
    """The critic's scale, one numbered line per score."""
    levels: list[str]
    """The scale's five descriptions, lowest first."""
    texts: Any
    """The profile's shared passages, ``texts.NAME``."""


OWN_NAMES = frozenset(PromptParts.__annotations__)
"""Template variables the renderer and the stages fill with the profile's own text."""


@lru_cache(maxsize=256)
def jinja_takes(name: str) -> bool:
    """True if Jinja gives ``name`` a meaning of its own in a template (a global such as ``range``,
    or ``loop``, ``self``, ``caller``, ``varargs``, ``true`` ...): a variable by that name is not shown
    as given in every place a template may use it."""
    if name in _jinja.globals:
        return True
    if not name.isidentifier():
        return False
    probe = "{% for _ in [0] %}{{ N }}{% endfor %}{% macro m() %}{{ N }}{% endmacro %}{{ m() }}"
    probe += "{% block b %}{{ N }}{% endblock %}{{ N }}"
    try:
        return str(_jinja.from_string(probe.replace("N", name)).render({name: "\x00"})) != "\x00" * 4
    except TemplateError:
        return True


def reserved_field_name(name: str) -> bool:
    """True if an input field cannot be called ``name``: templates use it for the profile's own text,
    or Jinja for its own."""
    return name in OWN_NAMES or jinja_takes(name)


_OTHER_FILES = {
    nodes.Include: "{% include %}",
    nodes.Import: "{% import %}",
    nodes.FromImport: "{% from ... import %}",
    nodes.Extends: "{% extends %}",
}


def names_used(text: str) -> set[str]:
    """The variables a (valid) template reads."""
    return set(meta.find_undeclared_variables(_jinja.parse(text)))


def check_template(text: str) -> list[str]:
    """The names of the shared passages (``texts.NAME``) a template shows; ValueError if it does not
    parse or reads another template file (a profile is one self-contained file)."""
    if re.search("[\ufdd0-\ufdef]", text):
        raise ValueError("holds a Unicode noncharacter (U+FDD0 to U+FDEF), which the renderer keeps for itself")
    try:
        tree = _jinja.parse(text)
        compile_template(text)
    except TemplateError as exc:
        raise ValueError(f"does not parse: {exc}") from exc
    for kind, tag in _OTHER_FILES.items():
        if any(True for _ in tree.find_all(kind)):
            raise ValueError(f"uses {tag}, but a profile cannot read other template files (share text with [texts])")
    calls = {
        macro.name: [call.node.name for call in macro.find_all(nodes.Call) if isinstance(call.node, nodes.Name)]
        for macro in tree.find_all(nodes.Macro)
        if isinstance(macro, nodes.Macro)
    }
    endless = cycle(calls)
    if endless:
        raise ValueError(f"has macros that call each other without end: {' -> '.join(endless)}")
    shown = []
    for node in tree.find_all(nodes.Getattr):
        if isinstance(node, nodes.Getattr) and isinstance(node.node, nodes.Name) and node.node.name == "texts":
            shown.append(node.attr)
    for item in tree.find_all(nodes.Getitem):
        if isinstance(item, nodes.Getitem) and isinstance(item.node, nodes.Name) and item.node.name == "texts":
            key = item.arg.value if isinstance(item.arg, nodes.Const) else None
            if isinstance(key, str):
                shown.append(key)
    return shown


def cycle(shows: dict[str, list[str]]) -> list[str] | None:
    """A chain of names (passages showing passages, macros calling macros) that ends where it began
    (``a -> b -> a``), if there is one."""

    def walk(name: str, path: list[str]) -> list[str] | None:
        for shown in shows.get(name, ()):
            if shown in path:
                return [*path[path.index(shown) :], shown]
            found = walk(shown, [*path, shown])
            if found:
                return found
        return None

    for start in shows:
        cycle = walk(start, [start])
        if cycle:
            return cycle
    return None
