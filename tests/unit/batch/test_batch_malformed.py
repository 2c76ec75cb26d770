"""One bad input line is one error record, never the end of the batch. Over generated JSONL files that
mix valid rows with hostile lines (not JSON, not UTF-8, a lone surrogate, a number of thousands of
digits, nesting thousands deep, values that are no text), every line's id ends up exactly once in the
output or the errors file and every valid row runs; the same for CSV records and Parquet rows."""

from __future__ import annotations

import asyncio
import json
import tempfile
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spri.batch import errors_path, run_batch
from tests.support.batch import echo_model

NOT_ROWS = [
    b'{"id": "x", "prompt": ' + b"1" * 5000 + b"}",
    b'{"id": "x", "prompt": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    b'{"id": "x", "prompt": "caf\xe9"}',
    b'{"id": "x", "prompt": "half \\udc80 a pair"}',
    b'{"id": "x", "prompt": "a raw\ttab"}',
    b'{"id": "x", "prompt": }',
    b'["an", "array"]',
    b'"a string"',
    b"\xff\xfe\x00\x01",
]
"""Lines that are no readable row: each must become the error record ``line-N``."""

NO_TEXT = [
    "[" * 500 + "]" * 500,
    '{"nested": {"object": 1}}',
    "NaN",
    "-Infinity",
    "12345",
    "true",
    "null",
    '""',
    '"' + "\\u0000" * 3 + '"',
]
"""Prompt values of readable rows (with an id) that are no text: each row runs or fails under its own id."""


def jsonl_case(draw_kinds: list[tuple[str, int, str]]) -> tuple[bytes, list[str], set[str]]:
    """The file's bytes, the id each line must end up under, and the ids of the valid rows."""
    lines, ids, valid = [], [], set()
    for number, (kind, index, text) in enumerate(draw_kinds, 1):
        if kind == "valid":
            lines.append(json.dumps({"id": f"v{number}", "prompt": f"Q {text}?"}).encode())
            ids.append(f"v{number}")
            valid.add(f"v{number}")
        elif kind == "not_a_row":
            lines.append(NOT_ROWS[index % len(NOT_ROWS)])
            ids.append(f"line-{number}")
        elif kind == "no_text":
            lines.append(f'{{"id": "w{number}", "prompt": {NO_TEXT[index % len(NO_TEXT)]}}}'.encode())
            ids.append(f"w{number}")
        else:  # bytes of any kind, never valid JSON (a control byte first)
            lines.append(b"\x01" + text.encode("utf-8", "surrogatepass").replace(b"\n", b" "))
            ids.append(f"line-{number}")
    return b"\n".join(lines) + b"\n", ids, valid


LINES = st.lists(
    st.tuples(
        st.sampled_from(["valid", "valid", "not_a_row", "no_text", "garbage"]),
        st.integers(min_value=0, max_value=100),
        st.text(max_size=12),
    ),
    min_size=1,
    max_size=10,
)


def ids_in(path: Path) -> list[str]:
    """The ids of a JSONL file's records (split at newlines only: a record may hold U+0085 or U+2028)."""
    if not path.exists():
        return []
    return [json.loads(line)["id"] for line in path.read_bytes().split(b"\n") if line]


def accounted(out: Path) -> Counter[str]:
    """How often each id is in the output and the errors file together."""
    return Counter(ids_in(out) + ids_in(errors_path(out)))


def output_ids(out: Path) -> set[str]:
    return set(ids_in(out))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(LINES)
def test_every_jsonl_line_ends_up_once_in_the_output_or_the_errors(kinds):
    data, ids, valid = jsonl_case(kinds)
    with tempfile.TemporaryDirectory() as folder:
        source, out = Path(folder) / "in.jsonl", Path(folder) / "out.jsonl"
        source.write_bytes(data)
        summary = asyncio.run(run_batch(str(source), out, model=echo_model(), concurrency=3, progress=False))
        assert accounted(out) == Counter(ids)
        assert valid <= output_ids(out)
        assert summary["total"] == len(ids) and summary["done"] + summary["failed"] == len(ids)


def test_every_csv_record_ends_up_once_in_the_output_or_the_errors(tmp_path):
    source = tmp_path / "in.csv"
    source.write_bytes(
        b"id,prompt\n"
        b"v1,First question?\n"
        b"v2," + b"x" * 200_000 + b"\n"  # a field over the csv module's size limit: this record only
        b"v3,Caf\xe9 question?\n"
        b'v4,"A question over\ntwo lines?"\n'
        b"w5\n"  # no prompt
        b"w6,Surplus?,value,value\n"
        b"v7,Last question?\n"
    )
    out = tmp_path / "out.jsonl"
    summary = asyncio.run(run_batch(str(source), out, model=echo_model(), progress=False))
    assert accounted(out) == Counter(["v1", "line-3", "line-4", "v4", "w5", "w6", "v7"])
    assert {"v1", "v4", "v7"} <= output_ids(out) and summary["total"] == 7


def test_every_parquet_row_ends_up_once_in_the_output_or_the_errors(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    prompts = [b"First question?", b"Caf\xe9 question?", None, b"\x00\x01", b"Last question?"]
    ids = ["v1", "w2", "w3", "w4", "v5"]
    table = pa.table({"id": ids, "prompt": pa.array(prompts, type=pa.binary()), "depth": [[[1]], [], [[2, 3]], [], []]})
    pq.write_table(table, tmp_path / "in.parquet")
    out = tmp_path / "out.jsonl"
    summary = asyncio.run(run_batch(str(tmp_path / "in.parquet"), out, model=echo_model(), progress=False))
    assert accounted(out) == Counter(ids) and summary["total"] == 5
