"""Output formats come from one registry (spri.batch.formats): a format registered there, and nowhere
else, is offered by `spri batch` and `spri export`, written by both, and recognised when a batch output
is continued."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest

from spri.batch.formats import FORMATS, OutputFormat, formats_for, prompt_of
from spri.cli import main
from spri.cli.parsers import build_parser
from tests.support.openai_server import OpenAIServer, Reply, is_critic_request


def _shout(record: Mapping[str, Any]) -> dict[str, Any]:
    return {"prompt": prompt_of(record), "shout": str(record["response"]).upper()}


@pytest.fixture
def shout(monkeypatch) -> OutputFormat:
    """A format of a plug-in: registered here only, for the length of one test."""
    fmt = OutputFormat("shout", "the response in capitals", _shout, keys=("shout",))
    monkeypatch.setitem(FORMATS, fmt.name, fmt)
    return fmt


@pytest.fixture
def endpoint(monkeypatch):
    def answer(request: dict[str, Any]) -> Reply:
        if is_critic_request(request):
            return Reply(tool_args={"feedback": "Good.", "score": 5})
        return Reply(text="quietly said")

    with OpenAIServer(answer) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "test-key")
        yield server


def batch(capsys, source, out, *extra: str) -> dict[str, Any]:
    code = main(["batch", str(source), "-o", str(out), "--id-field", "id", "--model", "openai:fake", "-q", *extra])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out)


def lines(path) -> list[dict[str, Any]]:
    """The records, by id (items finish in any order)."""
    return sorted((json.loads(line) for line in path.read_text().splitlines()), key=lambda r: r["id"])


def test_the_built_in_formats_per_command():
    assert formats_for("batch") == ["full", "messages", "alpaca"]
    assert formats_for("export") == ["messages", "alpaca", "dpo"]


def test_a_registered_format_reaches_both_commands_their_options_and_resume(shout, endpoint, tmp_path, capsys):
    parser = build_parser()
    assert parser.parse_args(["batch", "in.jsonl", "-o", "o.jsonl", "--format", "shout"]).format == "shout"
    assert parser.parse_args(["export", "o.jsonl", "-o", "x.jsonl", "--format", "shout"]).format == "shout"

    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps({"id": f"q{i}", "prompt": f"Question {i}?"}) + "\n" for i in range(3)))
    out = tmp_path / "out.jsonl"
    assert batch(capsys, source, out, "--format", "shout")["done"] == 3
    assert lines(out)[0] == {"id": "q0", "prompt": "Question 0?", "shout": "QUIETLY SAID"}

    calls = len(endpoint.requests)
    out.with_name("out.jsonl.meta.json").unlink()  # an output from before settings files: known by the keys
    summary = batch(capsys, source, out, "--format", "shout")
    assert summary["skipped_already_done"] == 3 and summary["done"] == 0 and len(endpoint.requests) == calls

    full = tmp_path / "full.jsonl"
    batch(capsys, source, full)
    assert main(["export", str(full), "-o", str(tmp_path / "x.jsonl"), "--format", "shout"]) == 0
    assert json.loads(capsys.readouterr().out)["exported"] == 3
    assert lines(tmp_path / "x.jsonl")[2] == {
        "prompt": "Question 2?",
        "shout": "QUIETLY SAID",
        "id": "q2",
        "prompt_id": lines(tmp_path / "x.jsonl")[2]["prompt_id"],
        "score": 5,
        "stop_reason": "accepted",
    }


def test_a_format_only_export_writes_is_refused_by_batch(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["batch", "in.jsonl", "-o", str(tmp_path / "o.jsonl"), "--format", "dpo"])
    assert "invalid choice: 'dpo'" in capsys.readouterr().err
