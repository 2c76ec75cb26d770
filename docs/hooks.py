"""MkDocs hooks: the parts of pages made from the code and the repository's own files when the site is
built, so they cannot drift from them. A page asks for one with an HTML comment on a line of its own:

- ``<!-- cli-reference -->``: every ``spri`` command's help (:mod:`spri.cli.reference`);
- ``<!-- methods-table -->``: the method table (``spri.state.methods.METHODS``);
- ``<!-- context-fields -->``: every field of :class:`spri.Context`, its type, default and description;
- ``<!-- graph-diagram -->``: the compiled graph as a Mermaid diagram;
- ``<!-- benchmark-results -->``: ``benchmarks/RESULTS.md``, each benchmark under its descriptive title;
- ``<!-- include: FILE -->``: a Markdown file of the repository (its own title left out).

Docstrings name things with Sphinx roles (``:func:`run```); the API reference shows them as code.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def cli_reference() -> str:
    from spri.cli.reference import markdown

    return markdown(level=2)


def methods_table() -> str:
    from spri.state.methods import METHODS

    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    rows = ["| method | what it is | under `--protocol paper` | compared by `spri eval` |", "|---|---|---|---|"]
    for name, plan in METHODS.items():
        paper = (
            "only under `paper`"
            if plan.paper_only
            else (plan.under_paper.description if plan.under_paper else "the same")
        )
        evaluations = ", ".join(plan.evaluations) or "-"
        rows.append(f"| `{name}` | {cell(plan.description)} | {cell(paper)} | {evaluations} |")
    return "\n".join(rows) + "\n"


def _type_name(annotation: Any) -> str:
    """A field's type as a reader writes it: ``int``, ``'a' | 'b'``, ``str | chat model | None``."""
    import typing

    from langchain_core.language_models import BaseChatModel

    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Literal:
        return " \\| ".join(repr(arg) for arg in args)
    if origin is typing.Annotated:
        return _type_name(args[0])
    if args and origin in (typing.Union, type(int | None)):
        return " \\| ".join(_type_name(arg) for arg in args)
    if annotation is type(None):
        return "None"
    if isinstance(annotation, type) and issubclass(annotation, BaseChatModel):
        return "chat model"
    return str(annotation).replace("typing.", "") if args else getattr(annotation, "__name__", str(annotation))


def context_fields() -> str:
    from spri.state.context import Context

    rows = ["| field | type | default | what it sets |", "|---|---|---|---|"]
    for name, field in Context.model_fields.items():
        if field.default_factory is None:
            default = f"`{field.default!r}`"
        elif "$" in (field.description or ""):  # read from the environment when a run starts
            default = "from the environment"
        else:
            default = f"`{field.default_factory()!r}`"  # type: ignore[call-arg]
        description = (field.description or "").replace("|", "\\|").replace("\n", " ")
        rows.append(f"| `{name}` | `{_type_name(field.annotation)}` | {default} | {description} |")
    return "\n".join(rows) + "\n"


def graph_diagram() -> str:
    from spri.graph import build_graph

    return "```mermaid\n" + build_graph().get_graph().draw_mermaid().strip() + "\n```\n"


def benchmark_results() -> str:
    """RESULTS.md below its title, its headings one level down, each benchmark titled by what it measures."""
    body = (ROOT / "benchmarks" / "RESULTS.md").read_text(encoding="utf-8").split("\n", 1)[1]
    body = re.sub(r"^(#{2,5}) ", r"#\1 ", body, flags=re.M)
    return re.sub(r"^(#+) P\d+ — (\w)", lambda m: f"{m.group(1)} {m.group(2).upper()}", body, flags=re.M)


def included(name: str) -> str:
    return (ROOT / name).read_text(encoding="utf-8").split("\n", 1)[1]


MARKERS = {
    "<!-- cli-reference -->": cli_reference,
    "<!-- methods-table -->": methods_table,
    "<!-- context-fields -->": context_fields,
    "<!-- graph-diagram -->": graph_diagram,
    "<!-- benchmark-results -->": benchmark_results,
}


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    for marker, make in MARKERS.items():
        if marker in markdown:
            markdown = markdown.replace(marker, make())
    return re.sub(r"<!-- include: (\S+) -->", lambda m: included(m.group(1)), markdown)


def on_page_content(html: str, page: Any, config: Any, files: Any) -> str:
    return re.sub(r":(?:func|class|mod|meth|attr|data|exc|obj):(<code>)", r"\1", html)
