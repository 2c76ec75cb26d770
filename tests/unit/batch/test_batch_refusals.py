"""A refused batch changes nothing: for every way a run is refused before its first model call, every
file and folder is byte for byte, mode for mode, as it was (a torn last line included, which only a run
that goes ahead repairs), and no model is called. Also: a symlink to an output is continued through,
never replaced by a file."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Awaitable, Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from spri.batch import run_batch, settings
from spri.batch.layout import Layout
from spri.batch.lock import OutputLock
from spri.state import SpriError
from tests.support.batch import ROWS, echo_model, write_jsonl
from tests.support.readonly import unwritable_dir, unwritable_file

TORN = b'{"id": "q9", "input": {"qu'
"""The start of a line a killed run left: kept by every refused run."""


def snapshot(root: Path) -> dict[str, Any]:
    """Every path under ``root``: a link's target, a file's bytes and mode, a folder's or FIFO's mode."""
    state: dict[str, Any] = {}
    for folder, names, files in os.walk(root):
        for name in [*names, *files]:
            path = Path(folder) / name
            info = path.lstat()
            key = str(path.relative_to(root))
            if stat.S_ISLNK(info.st_mode):
                state[key] = ("link", os.readlink(path))
            elif stat.S_ISREG(info.st_mode):
                state[key] = ("file", path.read_bytes(), info.st_mode)
            else:
                state[key] = ("other", info.st_mode)
    return state


async def finished(tmp: Path, out: Path, **options: Any) -> Path:
    """A real batch output of two items (and its settings file), with a torn last line after them."""
    await run_batch(str(tmp / "in.jsonl"), out, id_field="uid", limit=2, model=echo_model(), progress=False, **options)
    if out.is_file():
        out.write_bytes(out.read_bytes() + TORN)
    return out


def holding(stack: ExitStack, out: Path) -> None:
    """Another batch (here: a lock of this process) is writing ``out``."""
    stack.callback(OutputLock(Layout.choose(out, "local")).acquire().release)


def no_room(monkeypatch: pytest.MonkeyPatch) -> None:
    def full(*args: Any) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(settings, "write_meta", full)


Setup = Callable[[Path, ExitStack, pytest.MonkeyPatch], Awaitable[tuple[Path, dict[str, Any], str]]]


async def _input_as_output(tmp, stack, mp):
    return tmp / "in.jsonl", {}, "would overwrite the input"


async def _symlink_to_the_input(tmp, stack, mp):
    (tmp / "link.jsonl").symlink_to(tmp / "in.jsonl")
    return tmp / "link.jsonl", {}, "would overwrite the input"


async def _foreign_file(tmp, stack, mp):
    (tmp / "out.jsonl").write_bytes(b'{"x": 1}\n' + TORN)
    return tmp / "out.jsonl", {}, "is not a spri batch output of --format full"


async def _deeply_nested_file(tmp, stack, mp):
    (tmp / "out.jsonl").write_bytes(b"[" * 100_000 + b"]" * 100_000 + b"\n")
    return tmp / "out.jsonl", {}, "is not a spri batch output of --format full"


async def _foreign_folder(tmp, stack, mp):
    (tmp / "out").mkdir()
    (tmp / "out" / "notes.txt").write_text("mine")
    return tmp / "out", {}, "is a folder that is not a spri batch output"


async def _fifo(tmp, stack, mp):
    os.mkfifo(tmp / "out.jsonl")
    return tmp / "out.jsonl", {}, "is not a regular file"


async def _other_settings(tmp, stack, mp):
    return await finished(tmp, tmp / "out.jsonl", min_score=4), {"min_score": 5}, "made with --min-score 4"


async def _unreadable_settings(tmp, stack, mp):
    out = await finished(tmp, tmp / "out.jsonl")
    Layout.of(out).meta.write_text("{")
    return out, {}, "out.jsonl.meta.json is not readable"


async def _foreign_settings(tmp, stack, mp):
    out = await finished(tmp, tmp / "out.jsonl")
    Layout.of(out).meta.write_text('{"a": 1}')
    return out, {}, "is not a spri batch settings file"


async def _foreign_line_in_the_output(tmp, stack, mp):
    out = await finished(tmp, tmp / "out.jsonl")
    out.write_bytes(out.read_bytes().removesuffix(TORN) + b"typed by hand\n" + TORN)
    return out, {}, r"out\.jsonl, line 3: not valid JSON"


async def _foreign_line_in_the_errors(tmp, stack, mp):
    out = await finished(tmp, tmp / "out.jsonl")
    Layout.of(out).errors.write_bytes(b'{"id": "q5", "error": "x"}\nnot json\n{"id": "q6"')
    return out, {}, r"errors\.jsonl, line 2: not valid JSON"


async def _read_only_output(tmp, stack, mp):
    out = await finished(tmp, tmp / "out.jsonl")
    stack.enter_context(unwritable_file(out))
    return out, {}, r"cannot write .*out\.jsonl: "


async def _read_only_errors(tmp, stack, mp):
    out = await finished(tmp, tmp / "out.jsonl")
    Layout.of(out).errors.write_text('{"id": "q5", "error": "x"}\n')
    stack.enter_context(unwritable_file(Layout.of(out).errors))
    return out, {}, r"cannot write .*out\.jsonl\.errors\.jsonl: "


async def _read_only_folder(tmp, stack, mp):
    out = await finished(tmp, tmp / "sub" / "out.jsonl")
    stack.enter_context(unwritable_dir(tmp / "sub"))
    return out, {}, r"cannot write .*out\.jsonl: "


async def _busy(tmp, stack, mp):
    out = await finished(tmp, tmp / "out.jsonl")
    holding(stack, out)
    return out, {}, rf"being written by another spri batch \(pid {os.getpid()} on "


async def _busy_through_a_symlink(tmp, stack, mp):
    out = await finished(tmp, tmp / "data" / "out.jsonl")
    holding(stack, out)
    (tmp / "link.jsonl").symlink_to(out)
    return tmp / "link.jsonl", {}, rf"being written by another spri batch \(pid {os.getpid()} on "


async def _busy_through_dot_dot(tmp, stack, mp):
    out = await finished(tmp, tmp / "data" / "out.jsonl")
    holding(stack, out)
    (tmp / "other").mkdir()
    return tmp / "other" / ".." / "data" / "out.jsonl", {}, "being written by another spri batch"


async def _busy_through_a_hard_link(tmp, stack, mp):
    out = await finished(tmp, tmp / "out.jsonl")
    holding(stack, out)
    os.link(out, tmp / "hard.jsonl")
    return tmp / "hard.jsonl", {}, rf"under another name of the same file; pid {os.getpid()} on "


async def _no_room_for_a_new_output(tmp, stack, mp):
    no_room(mp)
    return tmp / "new" / "deeper" / "out.jsonl", {}, "no space left on device"


async def _no_room_for_a_new_part_folder(tmp, stack, mp):
    no_room(mp)
    return Path(str(tmp / "new" / "parts") + os.sep), {}, "no space left on device"


async def _unknown_column(tmp, stack, mp):
    return tmp / "out.jsonl", {"fields": {"query": "nope"}}, "no column 'nope'"


REFUSALS: dict[str, Setup] = {
    "the input as output": _input_as_output,
    "a symlink to the input": _symlink_to_the_input,
    "a file that is no batch output": _foreign_file,
    "a file of JSON nested too deeply to read": _deeply_nested_file,
    "a folder that is no batch output": _foreign_folder,
    "a FIFO": _fifo,
    "other content settings": _other_settings,
    "an unreadable settings file": _unreadable_settings,
    "someone else's settings file": _foreign_settings,
    "a foreign line in the output": _foreign_line_in_the_output,
    "a foreign line in the errors file": _foreign_line_in_the_errors,
    "a read-only output": _read_only_output,
    "a read-only errors file": _read_only_errors,
    "a read-only folder": _read_only_folder,
    "another batch writes it": _busy,
    "another batch writes it, named through a symlink": _busy_through_a_symlink,
    "another batch writes it, named through ..": _busy_through_dot_dot,
    "another batch writes it, named by a hard link": _busy_through_a_hard_link,
    "no room for the settings file of a new output": _no_room_for_a_new_output,
    "no room for the settings file of a new part folder": _no_room_for_a_new_part_folder,
    "an unknown input column": _unknown_column,
}


@pytest.mark.parametrize("refusal", REFUSALS)
async def test_a_refused_run_changes_no_file(tmp_path, monkeypatch, refusal):
    source = write_jsonl(tmp_path / "in.jsonl", ROWS[:3])
    with ExitStack() as stack:
        out, options, reason = await REFUSALS[refusal](tmp_path, stack, monkeypatch)
        before = snapshot(tmp_path)
        model = echo_model()
        with pytest.raises(SpriError, match=reason):
            await run_batch(source, out, id_field="uid", model=model, progress=False, **options)
        assert snapshot(tmp_path) == before
        assert model.calls == []


async def test_a_symlinked_output_is_continued_through_and_stays_a_symlink(tmp_path):
    source = write_jsonl(tmp_path / "in.jsonl", ROWS[:4])
    out = await finished(tmp_path, tmp_path / "data" / "out.jsonl")
    lines = out.read_bytes().removesuffix(TORN).splitlines(keepends=True)
    out.write_bytes(b"".join([*lines, lines[0]]))  # a repeated id, which the next run drops (a new file)
    link = tmp_path / "link.jsonl"
    link.symlink_to(out)
    summary = await run_batch(source, link, id_field="uid", model=echo_model(), progress=False)
    assert summary["done"] == 2 and summary["skipped_already_done"] == 2 and summary["duplicates_removed"] == 1
    assert link.is_symlink() and link.resolve() == out and len(out.read_bytes().splitlines()) == 4
    assert summary["output"] == str(out) and not (tmp_path / "link.jsonl.meta.json").exists()
