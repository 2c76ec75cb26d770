"""Test helpers: scripted models, a local OpenAI-compatible server, and where the shared data lives."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("SPRI_DATA_DIR") or ROOT.parent / "shared" / "data")
"""The paper's released data and benchmarks (read in place, never copied): ../shared/data by default."""
