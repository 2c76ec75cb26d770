"""The one JSONL reader (spri.jsonl): every line that is not a UTF-8 JSON object Python can hold comes
back as a bad line with a readable reason, and the reading goes on; the writer always writes a line."""

from __future__ import annotations

import json

import pytest

from spri.jsonl import BadLine, encode_line, iter_jsonl, parse_line

HOSTILE_LINES = {
    "a 5000-digit number": (b'{"q": ' + b"7" * 5000 + b"}", "holds a number too long to read (over 4300 digits)"),
    "100,000-deep nesting": (b'{"q": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nested too deeply to read"),
    "bytes that are not UTF-8": (b'{"q": "caf\xe9"}', "not UTF-8 (invalid continuation byte at byte 25 of the file)"),
    "a lone surrogate escape": (
        b'{"q": "half \\ud83d of a pair"}',
        "not valid Unicode: a string holds the lone surrogate \\ud83d",
    ),
    "a raw tab in a string": (
        b'{"q": "a\tb"}',
        "not valid JSON at column 9: invalid control character (a tab or line break inside a string must be "
        "written \\t or \\n)",
    ),
    "a missing value": (b'{"q": }', "not valid JSON at column 7: expecting value"),
    "an array": (b'["q"]', "not a JSON object"),
}


@pytest.mark.parametrize("name", HOSTILE_LINES)
def test_a_hostile_line_is_a_bad_line_with_a_readable_reason(tmp_path, name):
    raw, reason = HOSTILE_LINES[name]
    path = tmp_path / "in.jsonl"
    path.write_bytes(b'{"q": "first"}\n' + raw + b'\n{"q": "last"}\n')
    lines = list(iter_jsonl(path))
    assert [number for number, _ in lines] == [1, 2, 3]
    assert lines[0][1] == {"q": "first"} and lines[2][1] == {"q": "last"}
    bad = lines[1][1]
    assert isinstance(bad, BadLine) and bad.number == 2 and bad.reason.startswith(reason)


def test_a_valid_surrogate_pair_is_one_character():
    assert parse_line(b'{"q": "\\ud83d\\ude00"}', 1) == {"q": "\U0001f600"}


def test_a_torn_last_line_is_left_out_only_when_asked(tmp_path):
    path = tmp_path / "out.jsonl"
    path.write_bytes(b'{"id": 1}\n{"id": 2}')  # the second line's newline never made it to the disk
    assert [r for _, r in iter_jsonl(path, complete_only=True)] == [{"id": 1}]
    assert [r for _, r in iter_jsonl(path)] == [{"id": 1}, {"id": 2}]


def test_the_writer_writes_any_record_as_one_utf8_line_every_reader_takes():
    line = encode_line({"id": "x", "response": "a lone \ud800 from a model", "emoji": "\U0001f600"})
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert parse_line(line, 1) == {"id": "x", "response": "a lone \ufffd from a model", "emoji": "\U0001f600"}
    assert json.loads(line)["emoji"] == "\U0001f600"
