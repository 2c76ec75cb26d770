"""A batch's running statistics, its final summary, and the one-line progress display."""

from __future__ import annotations

import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, TextIO

from spri.api import Result


@dataclass
class Stats:
    total: int = 0
    skipped: int = 0
    done: int = 0
    failed: int = 0
    calls: int = 0
    tokens: int = 0
    accepted: Counter[str] = field(default_factory=Counter)
    judged: Counter[str] = field(default_factory=Counter)
    rounds: Counter[str] = field(default_factory=Counter)
    started: float = field(default_factory=time.monotonic)

    def add(self, result: Result) -> None:
        self.done += 1
        self.calls += result.calls
        self.tokens += result.tokens.get("total", 0)
        for stage, reason in result.stop_reason.items():
            if result.rounds.get(stage):
                self.judged[stage] += 1
                self.rounds[stage] += result.rounds[stage]
                self.accepted[stage] += reason == "accepted"

    def summary(self) -> dict[str, Any]:
        elapsed = time.monotonic() - self.started
        return {
            "total": self.total,
            "skipped_already_done": self.skipped,
            "done": self.done,
            "failed": self.failed,
            "elapsed_s": round(elapsed, 2),
            "items_per_s": round(self.done / elapsed, 3) if elapsed > 0 else None,
            "calls": self.calls,
            "tokens": self.tokens,
            "acceptance_rate": {s: round(self.accepted[s] / n, 3) for s, n in self.judged.items()},
            "mean_rounds": {s: round(self.rounds[s] / n, 2) for s, n in self.judged.items()},
        }


class Progress:
    """One self-updating stderr line: done/total, rate, ETA and running stats (at most 4 updates/s)."""

    def __init__(self, stats: Stats, stream: TextIO | None = None, enabled: bool = True) -> None:
        self.stats, self.stream, self.enabled = stats, stream or sys.stderr, enabled
        self._last = 0.0
        self._tty = self.stream.isatty()
        self._every = 0.25 if self._tty else 5.0  # a log file gets a line every few seconds

    def update(self, force: bool = False) -> None:
        now = time.monotonic()
        if not self.enabled or (not force and now - self._last < self._every):
            return
        self._last = now
        s = self.stats
        todo = s.total - s.skipped
        finished = s.done + s.failed
        elapsed = now - s.started
        rate = finished / elapsed if elapsed > 0 else 0.0
        eta = (todo - finished) / rate if rate > 0 else float("nan")
        width = 24
        filled = int(width * finished / todo) if todo else width
        summary = s.summary()
        accept = " ".join(f"{k[:4]} {v:.0%}" for k, v in summary["acceptance_rate"].items())
        rounds = " ".join(f"{k[:4]} {v:.1f}" for k, v in summary["mean_rounds"].items())
        line = (
            f"[{'#' * filled}{'.' * (width - filled)}] {finished}/{todo} {rate:.2f} it/s "
            f"ETA {_duration(eta)} | failed {s.failed} | accepted {accept or '-'} | rounds {rounds or '-'} "
            f"| calls {s.calls} tokens {s.tokens}"
        )
        if self._tty:
            self.stream.write("\r\x1b[2K" + line)
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.update(force=True)
            if self._tty:
                self.stream.write("\n")


def _duration(seconds: float) -> str:
    if seconds != seconds or seconds == float("inf"):  # NaN or unknown
        return "?"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
