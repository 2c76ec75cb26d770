"""Every input row is accounted for: a repeated id is an error record naming both lines, a CSV row with a
byte that is not UTF-8 is an error record with its line and true byte offset (the rest runs), and the
progress total is the number of selected items from early on, not the rows read so far."""

from __future__ import annotations

import io
import json
import time

from spri.batch import Stats, errors_path, run_batch
from spri.batch.progress import Progress
from spri.jsonl import read_jsonl
from tests.support.batch import echo_model, write_jsonl


async def test_a_repeated_id_is_an_error_record_naming_both_lines(tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_text(
        "".join(
            json.dumps(row) + "\n"
            for row in [
                {"id": 7, "prompt": "Seven as a number?"},
                {"id": "7", "prompt": "Seven as a string?"},
                {"prompt": "Same row twice?"},
                {"prompt": "Same row twice?"},
                {"id": "8", "prompt": "Eight?"},
            ]
        )
    )
    out = tmp_path / "out.jsonl"
    model = echo_model()
    summary = await run_batch(str(source), out, id_field="id", model=model, progress=False)
    assert summary["total"] == 5 and summary["done"] == 3 and summary["failed"] == 2
    assert len(model.calls) == 3 * 4
    errors = {e["id"]: e for e in read_jsonl(errors_path(out))}
    assert errors.keys() == {"line-2", "line-4"}
    assert errors["line-2"]["line"] == 2 and errors["line-2"]["type"] == "DuplicateId"
    assert "id '7' was already used on line 1" in errors["line-2"]["error"]
    assert errors["line-4"]["line"] == 4 and "the same inputs as line 3" in errors["line-4"]["error"]
    assert {r["input"]["query"] for r in read_jsonl(out)} == {"Seven as a number?", "Same row twice?", "Eight?"}


def _csv_with_a_bad_byte(path, rows: int, bad_row: int) -> tuple[int, int]:
    """A CSV of ``rows`` rows (one with a quoted two-line field) where row ``bad_row`` holds the byte
    0xff; returns that row's first line and the byte's offset in the file."""
    lines = [b"uid,prompt\n"]
    for i in range(rows):
        text = f"Question {i}?".encode()
        if i == 3:
            text = b'"A question over\ntwo lines?"'
        if i == bad_row:
            text = b"Caf\xff question?"
        lines.append(f"r{i},".encode() + text + b"\n")
    path.write_bytes(b"".join(lines))
    data = path.read_bytes()
    return data[: data.index(b"\xff")].count(b"\n") + 1, data.index(b"\xff")


async def test_a_csv_row_that_is_not_utf8_is_recorded_and_the_rest_processed(tmp_path):
    source = tmp_path / "in.csv"
    line, offset = _csv_with_a_bad_byte(source, 300, 150)
    out = tmp_path / "out.jsonl"
    model = echo_model()
    summary = await run_batch(str(source), out, id_field="uid", method="vanilla", model=model, progress=False)
    assert summary["done"] == 299 and summary["failed"] == 1 and len(model.calls) == 299
    assert line == 153  # header, 150 rows before it, one of them on two lines
    assert read_jsonl(errors_path(out)) == [
        {
            "id": f"line-{line}",
            "line": line,
            "offset": offset,
            "error": f"not UTF-8 (byte {offset} of the file)",
            "type": "BadLine",
        }
    ]
    ids = {r["id"] for r in read_jsonl(out)}
    assert len(ids) == 299 and "r149" in ids and "r151" in ids
    assert {r["input"]["query"] for r in read_jsonl(out) if r["id"] == "r3"} == {"A question over\ntwo lines?"}

    again = echo_model()  # a rerun goes on: nothing left to run, the bad row reported once
    summary = await run_batch(str(source), out, id_field="uid", method="vanilla", model=again, progress=False)
    assert again.calls == [] and summary["skipped_already_done"] == 299 and summary["failed"] == 1
    assert len(read_jsonl(errors_path(out))) == 1


async def test_progress_counts_every_selected_item_ahead(tmp_path):
    source = write_jsonl(tmp_path / "in.jsonl", [{"uid": f"q{i}", "prompt": f"Q{i}?"} for i in range(20)])
    stats = Stats()
    lines: list[str] = []

    def first_items(item_id: str) -> None:
        if stats.done == 1:
            deadline = time.monotonic() + 30  # the count runs in a thread beside the batch
            while stats.expected is None and time.monotonic() < deadline:
                time.sleep(0.01)
            stream = io.StringIO()
            Progress(stats, stream=stream).update(force=True)
            lines.append(stream.getvalue())

    await run_batch(
        source, tmp_path / "out.jsonl", id_field="uid", limit=15, concurrency=1, model=echo_model(),
        on_item=first_items, stats=stats, progress=False,
    )  # fmt: skip
    assert stats.expected == (15, 0) and lines and " 1/15 " in lines[0]


def test_progress_shows_an_unknown_total_as_a_question_mark():
    stats = Stats(total=4, done=2)
    stream = io.StringIO()
    Progress(stats, stream=stream).update(force=True)
    assert " 2/? " in stream.getvalue() and "ETA ?" in stream.getvalue()
