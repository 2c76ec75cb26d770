"""Test helpers: scripted models, a local OpenAI-compatible server, processes, and the test data.

Two kinds of data:

- ``FIXTURES`` (``tests/data/``): small files the tests always have, written for this project (see
  ``tests/data/README.md``). ``PAPER_FIXTURES`` holds synthetic stand-ins laid out and shaped like the
  paper's released data, so the evaluation and paper-protocol code runs on every checkout.
- ``DATA``: the paper's released data and BiGGen Bench, never copied into the repository. Its folder is
  ``$SPRI_DATA_DIR``, or when that is unset ``../shared/data`` beside the checkout. Tests that read it
  are marked ``@pytest.mark.data("resort/eval_posts_30.jsonl", ...)`` and are skipped, saying which
  file is missing and where to get it, when it is absent (``SPRI_REQUIRE_DATA=1`` makes that a failure).
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "data"
PAPER_FIXTURES = FIXTURES / "paper"

DATA_ENV = "SPRI_DATA_DIR"
DATA_SOURCES = (
    "the SPRI paper's release (github.com/honglizhan/SPRI-public) and BiGGen Bench "
    "(github.com/prometheus-eval/prometheus-eval)"
)
DATA = Path(os.environ.get(DATA_ENV) or ROOT.parent / "shared" / "data")
"""The released data's folder: $SPRI_DATA_DIR, else ../shared/data beside the checkout (it may not exist)."""


def missing_data(files: tuple[str, ...]) -> str | None:
    """Why a test that reads ``files`` under ``DATA`` cannot run, or None when they are all there."""
    absent = [name for name in files if not (DATA / name).is_file()]
    if not absent:
        return None
    where = DATA if os.environ.get(DATA_ENV) else f"{DATA} (the default: {DATA_ENV} is unset)"
    return f"{DATA_ENV}: {', '.join(absent)} not found in {where}; set {DATA_ENV} to a folder with {DATA_SOURCES}"
