"""The batch output is guarded: one writer, never the input or someone else's file, the same content
settings, checked writable before any model call, and read back strictly (duplicates removed, a
foreign line named, a full disk named)."""

from __future__ import annotations

import asyncio
import errno
import json
import os
import threading

import pytest

from spri.batch import errors_path, run_batch
from spri.batch.lock import OutputBusy
from spri.batch.settings import SettingsMismatch
from spri.jsonl import LineWriter, read_jsonl
from spri.state import SpriError
from tests.support.batch import ROWS, echo_model, write_jsonl
from tests.support.fakes import critique, is_critic_prompt, scripted
from tests.support.readonly import unwritable_dir


def meta_of(out):
    return out.with_name(out.name + ".meta.json")


async def test_output_equal_to_the_input_is_refused_and_left_unchanged(tmp_path):
    source = tmp_path / "data.jsonl"
    source.write_bytes(b'{"uid": "a", "prompt": "One?"}\n{"uid": "b", "prompt": "Two?"}')  # no final newline
    before = source.read_bytes()
    model = echo_model()
    with pytest.raises(SpriError, match=r"would overwrite the input"):
        await run_batch(str(source), source, id_field="uid", model=model, progress=False)
    assert source.read_bytes() == before and model.calls == []
    assert not meta_of(source).exists() and not errors_path(source).exists()


async def test_an_existing_file_that_is_not_a_batch_output_is_refused(tmp_path):
    source = write_jsonl(tmp_path / "in.jsonl", ROWS[:2])
    for name, content in [
        ("notes.txt", b"my notes\nline two"),
        ("other.jsonl", b'{"uid": "x", "prompt": "an input row, not an output"}\n'),
    ]:
        out = tmp_path / name
        out.write_bytes(content)
        model = echo_model()
        with pytest.raises(SpriError, match=r"is not a spri batch output of --format full"):
            await run_batch(source, out, id_field="uid", model=model, progress=False)
        assert out.read_bytes() == content and model.calls == [] and not meta_of(out).exists()


async def test_an_output_made_before_settings_files_is_recognised_and_resumed(tmp_path):
    source = write_jsonl(tmp_path / "in.jsonl", ROWS[:4])
    out = tmp_path / "out.jsonl"
    await run_batch(source, out, id_field="uid", limit=2, model=echo_model(), progress=False)
    meta_of(out).unlink()
    again = echo_model()
    summary = await run_batch(source, out, id_field="uid", model=again, progress=False)
    assert summary["skipped_already_done"] == 2 and summary["done"] == 2 and len(again.calls) == 8
    assert meta_of(out).exists()


async def test_unwritable_output_fails_before_any_model_call(tmp_path):
    source = write_jsonl(tmp_path / "in.jsonl", ROWS[:3])
    model = echo_model()
    with unwritable_dir(tmp_path / "locked") as folder:
        with pytest.raises(SpriError, match=r"cannot write .*locked/out\.jsonl"):
            await run_batch(source, folder / "out.jsonl", id_field="uid", model=model, progress=False)
        assert list(folder.iterdir()) == []
    assert model.calls == []


async def test_unwritable_errors_file_fails_before_any_model_call(tmp_path):
    source = write_jsonl(tmp_path / "in.jsonl", ROWS[:3])
    out = tmp_path / "out.jsonl"
    errors_path(out).mkdir()  # the errors file's name is taken by a folder
    model = echo_model()
    with pytest.raises(SpriError, match=r"cannot write .*out\.jsonl\.errors\.jsonl: is a directory"):
        await run_batch(source, out, id_field="uid", model=model, progress=False)
    assert model.calls == [] and not out.exists()


async def test_other_content_settings_are_refused_naming_the_setting(tmp_path):
    source = write_jsonl(tmp_path / "in.jsonl", ROWS[:3])
    out = tmp_path / "out.jsonl"
    await run_batch(source, out, id_field="uid", limit=2, min_score=4, model=echo_model(), progress=False)
    before = out.read_bytes(), meta_of(out).read_bytes()
    for change, named in [
        ({"min_score": 5}, r"made with --min-score 4, this run has 5"),
        ({"fmt": "alpaca"}, r"made with --format full, this run has alpaca"),
        ({"method": "vanilla"}, r"made with --method spri, this run has vanilla"),
        ({"fields": {"query": "uid"}}, r"made with --field \(the column mapping\)"),
    ]:
        model = echo_model()
        with pytest.raises(SettingsMismatch, match=named):
            await run_batch(source, out, id_field="uid", model=model, progress=False, **{"min_score": 4, **change})
        assert model.calls == [] and (out.read_bytes(), meta_of(out).read_bytes()) == before
    # execution settings may change
    summary = await run_batch(
        source, out, id_field="uid", concurrency=1, speculate=True, model=echo_model(), progress=False
    )
    assert summary["done"] == 1 and summary["skipped_already_done"] == 2
    execution = json.loads(meta_of(out).read_text())["execution"]
    assert execution["concurrency"] == 1 and execution["speculate"] is True


async def test_a_repeated_id_in_the_output_is_removed_on_read(tmp_path):
    source = write_jsonl(tmp_path / "in.jsonl", ROWS[:3])
    out = tmp_path / "out.jsonl"
    await run_batch(source, out, id_field="uid", model=echo_model(), progress=False)
    lines = out.read_bytes().splitlines(keepends=True)
    out.write_bytes(b"".join([*lines, lines[0], lines[1]]))  # two duplicate lines, as two writers would leave
    model = echo_model()
    summary = await run_batch(source, out, id_field="uid", model=model, progress=False)
    assert model.calls == [] and summary["duplicates_removed"] == 2
    assert out.read_bytes() == b"".join(lines)


async def test_a_complete_line_that_is_not_json_is_reported_not_skipped(tmp_path):
    source = write_jsonl(tmp_path / "in.jsonl", ROWS[:3])
    out = tmp_path / "out.jsonl"
    await run_batch(source, out, id_field="uid", limit=2, model=echo_model(), progress=False)
    damaged = out.read_bytes() + b"this line was typed by hand\n"
    out.write_bytes(damaged)
    model = echo_model()
    with pytest.raises(SpriError, match=r"out\.jsonl, line 3: not valid JSON .*fix or remove it"):
        await run_batch(source, out, id_field="uid", model=model, progress=False)
    assert model.calls == [] and out.read_bytes() == damaged


def test_a_full_disk_is_named_and_leaves_no_half_line(tmp_path, monkeypatch):
    path = tmp_path / "out.jsonl"
    writer = LineWriter(path)
    writer.append({"id": "a"})
    real_write = os.write
    calls = []

    def nearly_full(fd: int, data: bytes) -> int:
        calls.append(len(data))
        if len(calls) == 1:
            return real_write(fd, data[:5])  # the disk takes a few bytes, then nothing
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "write", nearly_full)
    with pytest.raises(SpriError, match=r"cannot write .*out\.jsonl: no space left on device \(ENOSPC\)"):
        writer.append({"id": "b", "text": "x" * 100})
    monkeypatch.setattr(os, "write", real_write)
    writer.close()
    assert path.read_bytes() == b'{"id": "a"}\n'


async def test_a_second_batch_on_the_same_output_is_refused_naming_the_first(tmp_path):
    source = write_jsonl(tmp_path / "in.jsonl", ROWS[:4])
    out = tmp_path / "out.jsonl"
    release = threading.Event()

    def slow(messages):
        release.wait(30)
        return critique(5) if is_critic_prompt(messages) else "a draft"

    first = asyncio.ensure_future(
        run_batch(source, out, id_field="uid", model=scripted(default=slow), concurrency=2, progress=False)
    )
    while not out.with_name("out.jsonl.lock").exists():
        await asyncio.sleep(0.05)
    second = echo_model()
    try:
        with pytest.raises(OutputBusy, match=rf"being written by another spri batch \(pid {os.getpid()} on "):
            await run_batch(source, out, id_field="uid", model=second, progress=False)
    finally:
        release.set()
    summary = await first
    assert second.calls == [] and summary["done"] == 4
    assert sorted(r["id"] for r in read_jsonl(out)) == ["q0", "q1", "q2", "q3"]
    assert not out.with_name("out.jsonl.lock").exists()


async def test_side_files_are_named_by_one_rule_and_an_errors_file_of_the_earlier_name_is_found(tmp_path):
    """Beside OUT: OUT.errors.jsonl, OUT.meta.json, OUT.lock (OUT/errors.jsonl ... in a part folder).
    An output made when the errors file was NAME.errors.jsonl is continued with that file."""
    source = write_jsonl(tmp_path / "in.jsonl", ROWS[:4])
    out = tmp_path / "b2.jsonl"
    seen: set[str] = set()

    def watch(item_id: str) -> None:
        seen.update(p.name for p in tmp_path.iterdir())

    summary = await run_batch(
        source, out, id_field="uid", model=echo_model(fail_on="number 2"), on_item=watch, progress=False
    )
    assert summary["errors"] == str(tmp_path / "b2.jsonl.errors.jsonl")
    assert {"b2.jsonl", "b2.jsonl.errors.jsonl", "b2.jsonl.meta.json", "b2.jsonl.lock"} <= seen
    assert errors_path(out) == tmp_path / "b2.jsonl.errors.jsonl"

    errors_path(out).rename(tmp_path / "b2.errors.jsonl")  # as an earlier spri named it
    assert errors_path(out) == tmp_path / "b2.errors.jsonl"
    healed = echo_model()
    summary = await run_batch(source, out, id_field="uid", retry_failed=True, model=healed, progress=False)
    assert summary["done"] == 1 and summary["skipped_already_done"] == 3 and len(healed.calls) == 4
    assert not (tmp_path / "b2.errors.jsonl").exists() and not (tmp_path / "b2.jsonl.errors.jsonl").exists()

    parts = tmp_path / "parts"
    summary = await run_batch(source, str(parts) + "/", id_field="uid", model=echo_model(fail_on="number 2"))
    assert sorted(p.name for p in parts.iterdir()) == ["errors.jsonl", "meta.json", "part-00000.jsonl"]
    assert summary["errors"] == str(parts / "errors.jsonl") == str(errors_path(parts))


async def test_a_column_named_id_holds_the_ids_unless_the_output_was_made_with_hashed_ids(tmp_path):
    source = write_jsonl(tmp_path / "in.jsonl", [{"id": f"item-{i}", "prompt": f"Q{i}?"} for i in range(3)])
    out = tmp_path / "out.jsonl"
    await run_batch(source, out, model=echo_model(), progress=False)
    assert sorted(r["id"] for r in read_jsonl(out)) == ["item-0", "item-1", "item-2"]
    assert json.loads(meta_of(out).read_text())["content"]["id_field"] == "id"

    without_ids = write_jsonl(tmp_path / "plain.jsonl", [{"prompt": f"Q{i}?"} for i in range(3)])
    hashed = tmp_path / "hashed.jsonl"
    await run_batch(without_ids, hashed, model=echo_model(), progress=False)
    assert json.loads(meta_of(hashed).read_text())["content"]["id_field"] is None
    model = echo_model()  # the same rows, now with an id column: the output keeps the ids it was made with
    summary = await run_batch(source, hashed, model=model, progress=False)
    assert summary["skipped_already_done"] == 3 and model.calls == []
