"""`spri batch` in process with scripted models: formats, inputs, ids, shards, errors, resume."""

from __future__ import annotations

import csv
import sys
import types

import pytest

from spri.batch import errors_path, in_shard, run_batch, stable_id
from spri.jsonl import read_jsonl
from spri.state import SpriError
from tests.support.batch import ROWS, echo_model, write_jsonl


async def test_full_output_resume_and_progress_stats(tmp_path):
    source = write_jsonl(tmp_path / "in.jsonl", ROWS)
    out = tmp_path / "out.jsonl"
    model = echo_model()
    summary = await run_batch(source, out, id_field="uid", model=model, concurrency=4, progress=False)
    records = read_jsonl(out)
    assert sorted(r["id"] for r in records) == sorted(r["uid"] for r in ROWS)
    first = next(r for r in records if r["id"] == "q3")
    assert first["input"]["query"] == "Question number 3?"
    assert first["response"] == "answer for: Question number 3?"
    assert first["calls"] == 4 and first["stop_reason"] == {"principles": "accepted", "response": "accepted"}
    assert summary["done"] == 12 and summary["failed"] == 0 and summary["calls"] == 48
    assert summary["acceptance_rate"] == {"principles": 1.0, "response": 1.0}
    assert summary["mean_rounds"] == {"principles": 1.0, "response": 1.0}
    assert len(model.calls) == 48

    again = echo_model()
    summary = await run_batch(source, out, id_field="uid", model=again, progress=False)
    assert again.calls == [] and summary["skipped_already_done"] == 12 and summary["done"] == 0
    assert len(read_jsonl(out)) == 12


@pytest.mark.parametrize("fmt", ["messages", "alpaca"])
async def test_sft_formats(tmp_path, fmt):
    source = write_jsonl(tmp_path / "in.jsonl", ROWS[:2])
    out = tmp_path / "out.jsonl"
    await run_batch(source, out, id_field="uid", fmt=fmt, model=echo_model(), progress=False)
    record = {r["id"]: r for r in read_jsonl(out)}["q1"]
    if fmt == "messages":
        assert record["messages"] == [
            {"role": "user", "content": "Question number 1?"},
            {"role": "assistant", "content": "answer for: Question number 1?"},
        ]
    else:
        assert record == {
            "id": "q1",
            "instruction": "Question number 1?",
            "input": "",
            "output": "answer for: Question number 1?",
        }


async def test_csv_and_parquet_inputs_with_field_mapping_and_hashed_ids(tmp_path):
    csv_path = tmp_path / "in.csv"
    with csv_path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["text_col", "aim"])
        writer.writeheader()
        writer.writerow({"text_col": "Post A", "aim": "Goal A"})
        writer.writerow({"text_col": "Post B", "aim": "Goal B"})
    out = tmp_path / "out.jsonl"
    model = echo_model()
    await run_batch(
        str(csv_path),
        out,
        fields={"query": "text_col", "goal": "aim"},
        profile="reappraisal",
        model=model,
        progress=False,
    )
    records = read_jsonl(out)
    assert {r["input"]["goal"] for r in records} == {"Goal A", "Goal B"}
    assert {r["id"] for r in records} == {
        stable_id({"query": "Post A", "goal": "Goal A", "extra": {}}),
        stable_id({"query": "Post B", "goal": "Goal B", "extra": {}}),
    }

    pyarrow = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    table = pyarrow.table({"id": ["p1", "p2"], "question": ["Parquet one?", "Parquet two?"]})
    pq.write_table(table, tmp_path / "in.parquet")
    out2 = tmp_path / "out2.jsonl"
    await run_batch(str(tmp_path / "in.parquet"), out2, id_field="id", model=echo_model(), progress=False)
    assert sorted(r["id"] for r in read_jsonl(out2)) == ["p1", "p2"]


async def test_bad_lines_are_reported_and_the_rest_processed(tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_bytes(
        b'{"uid": "a", "prompt": "Fine one?"}\n'
        b"{not json}\n"
        b'{"uid": "b", "prompt": "caf\xe9 latin-1?"}\n'
        b'{"uid": "c", "prompt": "Fine two?"}\n'
        b'{"uid": "d", "prompt": "   "}\n'
    )
    out = tmp_path / "out.jsonl"
    summary = await run_batch(str(source), out, id_field="uid", model=echo_model(), progress=False)
    assert sorted(r["id"] for r in read_jsonl(out)) == ["a", "c"]
    errors = {e["id"]: e for e in read_jsonl(errors_path(out))}
    assert errors["line-2"]["line"] == 2 and "not valid JSON" in errors["line-2"]["error"]
    assert errors["line-3"]["line"] == 3 and "not UTF-8" in errors["line-3"]["error"]
    assert "query is empty" in errors["d"]["error"]
    assert summary["failed"] == 3 and summary["done"] == 2


async def test_field_mapping_errors_are_explained(tmp_path):
    source = write_jsonl(tmp_path / "in.jsonl", [{"body": "x"}])
    with pytest.raises(SpriError, match=r"no input column for 'query' \(columns: body\); use --field query=COLUMN"):
        await run_batch(source, tmp_path / "o.jsonl", model=echo_model(), progress=False)
    with pytest.raises(SpriError, match=r"--field query=missing: no column 'missing'"):
        await run_batch(source, tmp_path / "o.jsonl", fields={"query": "missing"}, model=echo_model(), progress=False)
    unknown = r"--field kitchn=body: profile 'general' takes no field 'kitchn' \(it takes: query"
    with pytest.raises(SpriError, match=unknown):
        await run_batch(source, tmp_path / "o.jsonl", fields={"query": "body", "kitchn": "body"}, model=echo_model())
    assert not (tmp_path / "o.jsonl").exists()
    with pytest.raises(SpriError, match=r"--id-field uid: no such column"):
        await run_batch(
            source, tmp_path / "o.jsonl", fields={"query": "body"}, id_field="uid", model=echo_model(), progress=False
        )
    with pytest.raises(SpriError, match="concurrency must be at least 1"):
        await run_batch(source, tmp_path / "o.jsonl", concurrency=0, model=echo_model(), progress=False)


async def test_shards_partition_the_ids_exactly_once(tmp_path):
    rows = [{"uid": f"item-{i}", "prompt": f"Q{i}?"} for i in range(40)]
    source = write_jsonl(tmp_path / "in.jsonl", rows)
    seen = []
    for index in range(3):
        out = tmp_path / f"shard{index}.jsonl"
        await run_batch(source, out, id_field="uid", shard=(index, 3), model=echo_model(), progress=False)
        ids = [r["id"] for r in read_jsonl(out)]
        assert all(in_shard(i, (index, 3)) for i in ids) and ids
        seen += ids
    assert sorted(seen) == sorted(r["uid"] for r in rows)


async def test_failures_go_to_the_error_file_and_retry_failed_runs_only_them(tmp_path):
    source = write_jsonl(tmp_path / "in.jsonl", ROWS[:6])
    out = tmp_path / "out.jsonl"
    summary = await run_batch(source, out, id_field="uid", model=echo_model(fail_on="number 4"), progress=False)
    assert summary["failed"] == 1 and summary["done"] == 5
    errors = read_jsonl(errors_path(out))
    assert errors == [
        {
            "id": "q4",
            "error": "unexpected RuntimeError: model exploded (set SPRI_DEBUG=1 for a traceback)",
            "type": "RuntimeError",
        }
    ]
    healed = echo_model()
    summary = await run_batch(source, out, id_field="uid", retry_failed=True, model=healed, progress=False)
    assert summary["done"] == 1 and summary["skipped_already_done"] == 5 and len(healed.calls) == 4
    assert sorted(r["id"] for r in read_jsonl(out)) == [f"q{i}" for i in range(6)]
    assert not errors_path(out).exists()  # every id is now exactly once in the output


async def test_a_systemic_failure_stops_the_batch_early(tmp_path):
    source = write_jsonl(tmp_path / "in.jsonl", [{"prompt": f"Q{i}?"} for i in range(50)])
    model = echo_model(fail_on="Q")
    with pytest.raises(SpriError, match="5 items in a row failed"):
        await run_batch(source, tmp_path / "o.jsonl", abort_after=5, concurrency=1, model=model, progress=False)
    assert len(model.calls) < 10


def test_stable_ids_do_not_depend_on_order_or_empty_fields():
    assert stable_id({"query": "q", "goal": "g"}) == stable_id({"goal": "g", "query": "q", "reference": None})
    assert stable_id({"query": "q"}) != stable_id({"query": "q2"})


async def test_a_dataset_name_is_read_through_the_datasets_library(tmp_path, monkeypatch):
    # No hub here: a stand-in `datasets` module records what it was asked for and returns rows.
    asked: list[tuple[str, str]] = []

    def load_dataset(name: str, split: str) -> list[dict[str, str]]:
        asked.append((name, split))
        if name == "someone/missing":
            raise FileNotFoundError("Dataset 'someone/missing' doesn't exist on the Hub")
        return [{"instruction": "Hub one?", "uid": "h1"}, {"instruction": "Hub two?", "uid": "h2"}]

    monkeypatch.setitem(sys.modules, "datasets", types.SimpleNamespace(load_dataset=load_dataset))
    out = tmp_path / "out.jsonl"
    summary = await run_batch(
        "tatsu-lab/alpaca",
        out,
        split="test",
        fields={"query": "instruction"},
        id_field="uid",
        model=echo_model(),
        progress=False,
    )
    assert asked == [("tatsu-lab/alpaca", "test")] and summary["done"] == 2
    assert {r["id"]: r["input"]["query"] for r in read_jsonl(out)} == {"h1": "Hub one?", "h2": "Hub two?"}
    with pytest.raises(SpriError, match=r"cannot load dataset 'someone/missing' \(split train\)"):
        await run_batch("someone/missing", tmp_path / "o2.jsonl", model=echo_model(), progress=False)


async def test_a_dataset_name_without_the_datasets_library_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "datasets", None)  # import datasets -> ImportError
    with pytest.raises(SpriError, match=r"'tatsu-lab/alpaca' is not a file; .*pip install 'spri\[hf\]'"):
        await run_batch("tatsu-lab/alpaca", tmp_path / "out.jsonl", model=echo_model(), progress=False)
    assert not (tmp_path / "out.jsonl").exists()
