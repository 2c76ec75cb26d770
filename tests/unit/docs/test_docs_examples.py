"""Every code block of the README and docs/ that a user would run is run here as written, or is marked
with the test that runs it or why it is not run (see :mod:`tests.support.docs`).

Each runs in a folder of its own holding the files the examples name (:data:`SAMPLE_FILES`, and the
page's file blocks: a block titled ``title="NAME"``, or whose first line is ``# NAME.yaml``, is written
as that file), with every model answered by the loopback OpenAI-compatible server, whose critic
accepts every first draft: the default model (``SPRI_MODEL``), ``openai:NAME`` and any endpoint an
example names (``OPENAI_BASE_URL``, ``--base-url``) go there. Shell blocks may run ``spri`` commands
only (in this process, as the shell
would run them); anything else needs a marker."""

from __future__ import annotations

import ast
import contextlib
import io
import os
import re
import shlex
from pathlib import Path

import pytest

from spri.cli import main as spri_main
from tests.support import ROOT
from tests.support.docs import Block, all_blocks, page_blocks, pages
from tests.support.openai_server import OpenAIServer
from tests.support.policies import accepting

BLOCKS = all_blocks()
RUN_HERE = [block for block in BLOCKS if block.runnable and block.marker is None]

SAMPLE_FILES = {
    "answer.txt": "Ten pens cost $6.67: 3 pens are $2, so one pen is $2/3.",
    "reference.txt": "3 pens cost $2, so 10 pens cost 10 x 2/3 = $6.67.",
    "constitution.txt": "1. Be kind.\n2. Be concrete.",
    "better_principles.txt": "1. Be honest.\n2. Be brief.",
    "prompts.jsonl": '{"id": "a", "prompt": "How do I fix a squeaky door?"}\n'
    '{"id": "b", "prompt": "How do I keep basil alive?"}\n',
    "prompts.csv": "id,prompt\na,How do I fix a squeaky door?\nb,How do I keep basil alive?\n",
}
"""The files the examples name, as a reader would have them, in the folder each example runs in."""


@pytest.fixture
def example_dir(tmp_path, monkeypatch):
    """A folder with the examples' sample files, a HOME of its own, and every model pointed at the
    loopback server (``SPRI_MODEL`` for the default model, ``OPENAI_BASE_URL`` for ``openai:NAME``)."""
    for name, text in SAMPLE_FILES.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "home" / "data"))
    with OpenAIServer(accepting()) as server:
        monkeypatch.setenv("SPRI_MODEL", "openai:fake")
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-loopback")
        yield tmp_path


FILE_BLOCK = re.compile(r"^# ([\w.-]+\.\w+)\n")


def write_file_blocks(block: Block, folder: Path) -> None:
    """The page's blocks that are files the reader writes, into ``folder``: a block titled with its file
    name (```` ```json title="chat.jsonl" ````), or whose first line names it (``# recipe.yaml``)."""
    for other in page_blocks(block.page):
        named = FILE_BLOCK.match(other.text)
        name = other.title or (named.group(1) if named else "")
        if name and "/" not in name and not other.runnable:
            (folder / name).write_text(other.text, encoding="utf-8")


def commands(script: str) -> list[list[str]]:
    """A shell block's commands: continued lines joined, comments and blank lines left out."""
    joined = script.replace("\\\n", " ")
    return [words for line in joined.splitlines() if (words := shlex.split(line, comments=True))]


def run_command(words: list[str], where: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """``[VAR=value ...] spri ARGS`` run in this process, as the shell would run it."""
    loopback = os.environ["OPENAI_BASE_URL"]
    while words and "=" in words[0] and not words[0].startswith("-"):
        name, value = words.pop(0).split("=", 1)
        monkeypatch.setenv(name, loopback if name == "OPENAI_BASE_URL" else value)
    after = ["", *words[:-1]]
    words = [loopback if previous == "--base-url" else word for previous, word in zip(after, words, strict=True)]
    program, *args = words
    assert Path(program).name == "spri", (
        f"{where}: `{shlex.join(words)}` is not a spri command this test can run: "
        "mark the block <!-- not-run: REASON --> or <!-- run-by: TEST -->"
    )
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        try:
            code = spri_main(args)
        except SystemExit as exit:  # --help, --version
            code = int(exit.code or 0)
    assert code == 0, f"{where}: `{shlex.join(words)}` exited with {code}:\n{stdout.getvalue()}"


def run_python(source: str, where: str) -> None:
    ast.parse(source, where)
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile(source, where, "exec"), {"__name__": "__main__"})


@pytest.mark.parametrize("block", RUN_HERE, ids=[block.where for block in RUN_HERE])
def test_the_example_runs_as_written(block: Block, example_dir, monkeypatch):
    write_file_blocks(block, example_dir)
    if block.language in ("python", "py"):
        run_python(block.text, block.where)
        return
    for words in commands(block.text):
        run_command(words, block.where, monkeypatch)


@pytest.mark.parametrize("block", [b for b in BLOCKS if b.marker], ids=lambda b: b.where)
def test_a_marked_block_says_why_or_who_runs_it(block: Block):
    assert block.runnable, f"{block.where}: a {block.language or 'plain'} block is never run: drop its marker"
    if block.marker == "not-run":
        assert len(block.detail.split()) >= 3, f"{block.where}: say why the block is not run"
        return
    path, _, test = block.detail.partition("::")
    assert (ROOT / path).is_file() and f"def {test}(" in (ROOT / path).read_text(), (
        f"{block.where}: run-by names no test: {block.detail!r}"
    )


def test_every_page_is_covered_and_an_unmarked_block_is_run(tmp_path):
    assert {"README.md", "index.md", "cli.md", "python-api.md", "langgraph.md"} <= {page.name for page in pages()}
    page = tmp_path / "page.md"
    page.write_text(
        "Text.\n\n```bash\nspri ask x\n```\n\n<!-- not-run: a server that stays up -->\n```bash\nspri serve\n```\n"
        "\n```json\n{}\n```\n"
    )
    unmarked, marked, shown = page_blocks(page)
    assert (unmarked.runnable, unmarked.marker, unmarked.text) == (True, None, "spri ask x\n")
    assert (marked.marker, marked.detail) == ("not-run", "a server that stays up")
    assert not shown.runnable
