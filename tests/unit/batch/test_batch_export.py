"""`spri export` on crafted `full` batch output: each format's rows, DPO selection, filters, part folders,
a dataset saved for Hugging Face with its card, and the Hub push through a stand-in (nothing reaches
the Hub)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from spri.batch.export import prompt_id
from spri.cli import main


def record(item_id: str, query: str, drafts: list[str], scores: list[int | None], stop: str) -> dict:
    """A full batch record whose response stage had these drafts and critic scores."""
    return {
        "id": item_id,
        "input": {"query": query},
        "principles": "1. Be kind.",
        "response": drafts[-1],
        "drafts": {"principles": ["1. Be kind."], "response": drafts},
        "critiques": {
            "principles": [{"score": 5, "feedback": "ok"}],
            "response": [{"score": s, "feedback": f"score {s}"} for s in scores],
        },
        "stop_reason": {"principles": "accepted", "response": stop},
        "calls": 2 + 2 * len(drafts),
    }


RECORDS = [
    record(
        "a", "How do I apologise?", ["Say sorry.", "Say sorry, name what you did, offer to fix it."], [2, 5], "accepted"
    ),
    record("b", "Best tea?", ["Green tea, brewed cool."], [5], "accepted"),
    record("c", "Fix my bike?", ["Oil it.", "Oil the chain.", "Oil the chain well."], [3, 2, 3], "max_rounds"),
    record("d", "Sleep tips?", ["Dark room.", "Dark, cool room."], [4, None], "critic_unparseable"),
    record("a", "How do I apologise?", ["A repeated line of id a."], [1], "max_rounds"),
]


def write(path, records, meta=None):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    if meta is not None:
        path.with_name(path.name + ".meta.json").write_text(json.dumps(meta))
    return str(path)


def export(capsys, *args) -> dict:
    code = main(["export", *args])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out)


def rows(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_messages_alpaca_and_dpo_rows(tmp_path, capsys):
    out = write(tmp_path / "out.jsonl", RECORDS)
    summary = export(capsys, out, "-o", str(tmp_path / "m.jsonl"), "--format", "messages")
    assert summary["read"] == 5 and summary["exported"] == 4 and summary["left_out"] == {"repeated_id": 1}
    first = rows(tmp_path / "m.jsonl")[0]
    assert first == {
        "messages": [
            {"role": "user", "content": "How do I apologise?"},
            {"role": "assistant", "content": "Say sorry, name what you did, offer to fix it."},
        ],
        "id": "a",
        "prompt_id": prompt_id("How do I apologise?"),
        "score": 5,
        "stop_reason": "accepted",
    }
    export(capsys, out, "-o", str(tmp_path / "a.jsonl"), "--format", "alpaca")
    assert rows(tmp_path / "a.jsonl")[1] == {
        "instruction": "Best tea?",
        "input": "",
        "output": "Green tea, brewed cool.",
        "id": "b",
        "prompt_id": prompt_id("Best tea?"),
        "score": 5,
        "stop_reason": "accepted",
    }
    summary = export(capsys, out, "-o", str(tmp_path / "d.jsonl"), "--format", "dpo")
    assert rows(tmp_path / "d.jsonl") == [
        {
            "prompt": [{"role": "user", "content": "How do I apologise?"}],
            "chosen": [{"role": "assistant", "content": "Say sorry, name what you did, offer to fix it."}],
            "rejected": [{"role": "assistant", "content": "Say sorry."}],
            "chosen_score": 5,
            "rejected_score": 2,
            "id": "a",
            "prompt_id": prompt_id("How do I apologise?"),
            "score": 5,
            "stop_reason": "accepted",
        }
    ]  # b: one draft; c: final not better than the first; d: final unscored
    assert summary["left_out"] == {"dpo_final_not_better_than_first_draft": 3, "repeated_id": 1}


def test_filters_by_final_score_and_stop_reason(tmp_path, capsys):
    out = write(tmp_path / "out.jsonl", RECORDS)
    summary = export(capsys, out, "-o", str(tmp_path / "x.jsonl"), "--min-score", "4")
    assert [r["id"] for r in rows(tmp_path / "x.jsonl")] == ["a", "b"]
    assert summary["left_out"] == {"below_min_score": 2, "repeated_id": 1}
    export(capsys, out, "-o", str(tmp_path / "y.jsonl"), "--stop-reason", "max_rounds")
    assert [r["id"] for r in rows(tmp_path / "y.jsonl")] == ["c"]
    assert main(["export", out, "-o", str(tmp_path / "z.jsonl"), "--stop-reason", "done"]) == 2
    assert "--stop-reason done: use one of accepted, max_rounds" in capsys.readouterr().err


def test_a_part_folder_reads_like_one_file_and_a_non_full_output_is_refused(tmp_path, capsys):
    folder = tmp_path / "out"
    folder.mkdir()
    write(folder / "part-00000.jsonl", RECORDS[:2])
    write(folder / "part-00001.jsonl", RECORDS[2:])
    (folder / "meta.json").write_text(json.dumps({"spri_batch_output": 1, "content": {"format": "full"}}))
    summary = export(capsys, str(folder), "-o", str(tmp_path / "m.jsonl"))
    assert summary["exported"] == 4 and [r["id"] for r in rows(tmp_path / "m.jsonl")] == ["a", "b", "c", "d"]
    messages = write(
        tmp_path / "chat.jsonl",
        [{"id": "a", "messages": []}],
        {"spri_batch_output": 1, "content": {"format": "messages"}},
    )
    assert main(["export", messages, "-o", str(tmp_path / "n.jsonl")]) == 2
    assert "was written with --format messages; export reads --format full" in capsys.readouterr().err
    assert main(["export", str(folder), "-o", str(folder / "part-00002.jsonl")]) == 2
    assert "would overwrite the batch output" in capsys.readouterr().err


def test_the_export_loads_with_datasets_as_trl_reads_it(tmp_path, capsys):
    datasets = pytest.importorskip("datasets")
    out = write(tmp_path / "out.jsonl", RECORDS)
    export(capsys, out, "-o", str(tmp_path / "dpo.jsonl"), "--format", "dpo")
    export(capsys, out, "-o", str(tmp_path / "sft.jsonl"), "--format", "messages")
    cache = str(tmp_path / "hf-cache")
    sft = datasets.load_dataset("json", data_files=str(tmp_path / "sft.jsonl"), split="train", cache_dir=cache)
    dpo = datasets.load_dataset("json", data_files=str(tmp_path / "dpo.jsonl"), split="train", cache_dir=cache)
    assert sft.num_rows == 4 and sft[0]["messages"][1]["role"] == "assistant"
    assert dpo.column_names[:3] == ["prompt", "chosen", "rejected"] and dpo[0]["rejected_score"] == 2


def test_to_hf_saves_a_folder_that_load_dataset_reads_offline_by_its_card(tmp_path, capsys):
    pytest.importorskip("datasets")
    meta = {"spri_batch_output": 1, "input": "prompts.jsonl", "content": {"format": "full", "model": "openai:m"}}
    out = write(tmp_path / "out.jsonl", RECORDS, meta)
    folder = tmp_path / "ds"
    (folder / "data").mkdir(parents=True)
    (folder / "data" / "train-00000-of-00002.parquet").write_bytes(b"a shard of an earlier, larger save")
    summary = export(capsys, out, "--format", "dpo", "--to-hf", str(folder))
    assert summary["exported"] == 1 and summary["output"] is None
    card = (folder / "README.md").read_text()
    assert "# SPRI synthetic data (dpo)" in card and "batch input: `prompts.jsonl`" in card
    assert "base `openai:m`" in card and "rows: 1 of 5 records read" in card and '"model": "openai:m"' in card
    assert sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) == [
        "README.md",
        "data",
        "data/train-00000-of-00001.parquet",
    ]
    offline = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")}
    script = "import datasets, json, sys; print(json.dumps(datasets.load_dataset(sys.argv[1], split='train')[0]))"
    loaded = subprocess.run(
        [sys.executable, "-c", script, str(folder)], env=offline, capture_output=True, text=True, timeout=120
    )
    assert loaded.returncode == 0, loaded.stderr
    assert json.loads(loaded.stdout) == rows_of_an_export(capsys, out, tmp_path, "dpo")[0]


def rows_of_an_export(capsys, out, tmp_path, fmt) -> list[dict]:
    export(capsys, out, "-o", str(tmp_path / f"{fmt}.jsonl"), "--format", fmt)
    return rows(tmp_path / f"{fmt}.jsonl")


def test_to_hf_into_the_batch_or_a_folder_of_other_files_is_refused(tmp_path, capsys):
    pytest.importorskip("datasets")
    parts = tmp_path / "out"
    parts.mkdir()
    write(parts / "part-00000.jsonl", RECORDS)
    (parts / "meta.json").write_text(json.dumps({"spri_batch_output": 1, "content": {"format": "full"}}))
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    for target, reason in [
        (parts, "would overwrite the batch output"),
        (parts / "hf", "would overwrite the batch output"),
        (mine, "holds other files (notes.txt); save the dataset to a new or empty folder"),
    ]:
        assert main(["export", str(parts), "--to-hf", str(target)]) == 2
        assert reason in capsys.readouterr().err
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before


def test_records_that_are_not_full_records_are_left_out_into_the_errors_file(tmp_path, capsys):
    damaged = [
        json.dumps({**RECORDS[1], "id": "r", "response": {"text": "not a string"}}),
        json.dumps({**RECORDS[1], "id": "s", "drafts": ["not", "per", "stage"]}),
        json.dumps({**RECORDS[1], "id": "t", "critiques": {"response": ["not a critique"]}}),
        json.dumps({**RECORDS[1], "id": "u", "input": "not an object"}),
        "not json at all",
        json.dumps({**RECORDS[1], "id": "v", "response": 42})[:40],  # a torn last line
    ]
    out = tmp_path / "out.jsonl"
    out.write_text("".join(json.dumps(r) + "\n" for r in RECORDS[:2]) + "\n".join(damaged))
    summary = export(capsys, str(out), "-o", str(tmp_path / "sft.jsonl"))
    assert summary["exported"] == 2 and summary["left_out"] == {"unreadable_record": 6}
    assert summary["errors"] == str(tmp_path / "sft.jsonl.errors.jsonl") and summary["read"] == 8
    assert [r["id"] for r in rows(tmp_path / "sft.jsonl")] == ["a", "b"]
    errors = rows(tmp_path / "sft.jsonl.errors.jsonl")
    assert [e["line"] for e in errors] == [3, 4, 5, 6, 7, 8] and {e["file"] for e in errors} == {str(out)}
    assert errors[0]["error"] == "'response' is not text" and errors[4]["error"].startswith(
        "not valid JSON at column 1"
    )
    out.write_text("".join(json.dumps(r) + "\n" for r in RECORDS[:2]))
    assert export(capsys, str(out), "-o", str(tmp_path / "sft.jsonl"))["errors"] is None
    assert not (tmp_path / "sft.jsonl.errors.jsonl").exists()  # an earlier export's list is not left behind


def test_push_to_hub_goes_through_the_libraries_with_the_card(tmp_path, capsys, monkeypatch):
    datasets = pytest.importorskip("datasets")
    huggingface_hub = pytest.importorskip("huggingface_hub")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # should the stand-in miss a path, it still cannot go out
    pushed: list[tuple] = []
    monkeypatch.setattr(
        datasets.Dataset, "push_to_hub", lambda self, repo, **kw: pushed.append(("data", repo, self.num_rows))
    )

    def upload_file(self, *, path_or_fileobj, path_in_repo, repo_id, repo_type):
        pushed.append(("file", repo_id, path_in_repo, repo_type, path_or_fileobj.decode()))

    monkeypatch.setattr(huggingface_hub.HfApi, "upload_file", upload_file)
    out = write(tmp_path / "out.jsonl", RECORDS)
    summary = export(capsys, out, "--format", "messages", "--min-score", "5", "--push-to-hub", "me/spri-sft")
    assert summary["pushed_to"] == "me/spri-sft"
    assert pushed[0] == ("data", "me/spri-sft", 2)
    assert pushed[1][:4] == ("file", "me/spri-sft", "README.md", "dataset")
    assert "min score 5" in pushed[1][4] and "path: data/train-*" in pushed[1][4]


def test_export_without_a_destination_or_datasets_says_what_to_do(tmp_path, capsys, monkeypatch):
    out = write(tmp_path / "out.jsonl", RECORDS)
    assert main(["export", out]) == 2
    assert "say where the export goes" in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, "datasets", None)
    assert main(["export", out, "--to-hf", str(tmp_path / "ds")]) == 2
    assert "pip install 'spri[hf]'" in capsys.readouterr().err
