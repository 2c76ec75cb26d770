"""The embedded model with several items in flight keeps the process's stdout and stderr.

llama-cpp-python silences a model load by pointing file descriptors 1 and 2 at /dev/null and back;
two loads at once (two items reaching a new KV-cache slot together) used to leave them pointing at
/dev/null for good, so a batch printed no progress and no summary.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytest.importorskip("llama_cpp", reason="the embedded model needs llama-cpp-python (make test installs it)")

from tests.support.processes import cli_env

pytestmark = pytest.mark.embedded


def test_batch_with_two_items_in_flight_prints_progress_and_summary(tmp_path):
    posts = tmp_path / "posts.jsonl"
    rows = [{"id": "a", "post": "How do I calm down before an exam?"}, {"id": "b", "post": "How do I sleep better?"}]
    posts.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "out.jsonl"
    settings = ["--max-rounds", "1", "--max-tokens", "24", "--concurrency", "2", "-o", str(out)]
    done = subprocess.run(
        [sys.executable, "-m", "spri.cli", "batch", str(posts), "--field", "query=post", "--id-field", "id", *settings],
        env=cli_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert done.returncode == 0, done.stderr
    assert len(out.read_text().splitlines()) == 2
    summary = json.loads(done.stdout)  # the summary reaches stdout
    assert summary["done"] == 2 and summary["failed"] == 0
    assert summary["calls"] == 8  # one draft and one verdict per stage and item
    assert "2/2" in done.stderr  # and the progress line reaches stderr
    assert "Model metadata" not in done.stderr  # without llama-cpp-python's load report


RACE = """
import sys, threading
from spri.models.embedded.chat_model import LocalChatModel

model = LocalChatModel(n_ctx=256)
barrier = threading.Barrier(4)

def load(slot):
    barrier.wait()
    model.load(slot)

for round_ in range(2):
    threads = [threading.Thread(target=load, args=(f"race-{round_}-{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
print("stdout still here", flush=True)
print("stderr still here", file=sys.stderr, flush=True)
"""


def test_slots_loading_at_once_leave_stdout_and_stderr_alone(tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", RACE], env=cli_env(tmp_path), capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "stdout still here\n"
    assert done.stderr == "stderr still here\n"  # and nothing of llama.cpp's load report


def test_a_failed_load_puts_stderr_back():
    from spri.models.embedded.loading import open_llama

    before = sys.stderr
    with pytest.raises(ValueError):  # a missing file fails inside llama-cpp-python's loader
        open_llama(model_path="/nonexistent/model.gguf", n_ctx=64)
    assert sys.stderr is before
