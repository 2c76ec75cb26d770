"""Inputs, runs and output checks shared by the batch tests (in process and as `spri batch` processes)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from tests.support.fakes import critique, is_critic_prompt, scripted
from tests.support.processes import batch_command

ROWS = [{"uid": f"q{i}", "prompt": f"Question number {i}?"} for i in range(12)]
"""Twelve input rows with their ids in `uid` and their queries in `prompt`."""


def echo_model(fail_on: str | None = None):
    """Principles/response echo the query; the critic accepts at once; queries containing
    ``fail_on`` make the model raise."""

    def reply(messages):
        text = messages[1].text
        if fail_on and fail_on in text:
            raise RuntimeError("model exploded")
        if is_critic_prompt(messages):
            return critique(5)
        kind = "principles" if "guiding principles" in messages[0].text else "answer"
        return f"{kind} for: {text.split(chr(10))[1][:40]}"

    return scripted(default=reply)


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


def make_input(path: Path, n: int) -> str:
    """``n`` rows with ids ``item-000``... in `id` and their queries in `prompt`."""
    path.write_text("".join(json.dumps({"id": f"item-{i:03d}", "prompt": f"Question {i}?"}) + "\n" for i in range(n)))
    return str(path)


def run_batch(env: dict[str, str], source: str, out: Path, *extra: str, timeout: float = 120):
    """`spri batch` to completion, output captured."""
    return subprocess.run(batch_command(source, out, *extra), env=env, capture_output=True, text=True, timeout=timeout)


def check_output(out: Path, expected: int) -> list[str]:
    """The ids of a batch output, checked: complete JSON lines, no id twice, ``expected`` of them."""
    raw = out.read_bytes()
    assert raw.endswith(b"\n"), "partial last line"
    ids = [json.loads(line)["id"] for line in raw.splitlines()]  # every line is complete JSON
    assert len(ids) == len(set(ids)), "duplicate ids"
    assert len(ids) == expected
    return ids
