"""A batch's running statistics, its final summary, and the one-line progress display."""

from __future__ import annotations

import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TextIO

from spri.api import Result
from spri.batch.selection import Done, Selection
from spri.batch.sources import Row


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
    expected: tuple[int, int] | None = None
    """(selected items, of which done before) once counted ahead; None until then."""
    extra: dict[str, Any] = field(default_factory=dict)
    """What the summary reports besides the counts (output, errors, engine, workers, ...)."""

    def add(self, result: Result) -> None:
        self.done += 1
        self.calls += result.calls
        self.tokens += result.tokens.get("total", 0)
        for stage, reason in result.stop_reason.items():
            if result.rounds.get(stage):
                self.judged[stage] += 1
                self.rounds[stage] += result.rounds[stage]
                self.accepted[stage] += reason == "accepted"

    @property
    def todo(self) -> int | None:
        """Items this run has to finish (run or record as failed), if known yet."""
        return None if self.expected is None else self.expected[0] - self.expected[1]

    def summary(self) -> dict[str, Any]:
        elapsed = time.monotonic() - self.started
        total = max(self.total, self.expected[0]) if self.expected else self.total
        return {
            "total": total,
            "skipped_already_done": self.skipped,
            "done": self.done,
            "failed": self.failed,
            "elapsed_s": round(elapsed, 2),
            "items_per_s": round(self.done / elapsed, 3) if elapsed > 0 else None,
            "calls": self.calls,
            "tokens": self.tokens,
            "acceptance_rate": {s: round(self.accepted[s] / n, 3) for s, n in self.judged.items()},
            "mean_rounds": {s: round(self.rounds[s] / n, 2) for s, n in self.judged.items()},
            **self.extra,
        }


class AheadCount:
    """Counts the selected items in a background thread (a second, cheap pass over the input: no model
    calls), so progress shows the real total and ETA early; until then the total shows as '?'."""

    def __init__(self, rows: Callable[[], Iterator[Row]], selection: Selection, stats: Stats) -> None:
        self.rows, self.selection, self.stats = rows, selection, stats
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._count, name="spri-batch-count", daemon=True)
        self._thread.start()

    def _count(self) -> None:
        total = done = 0
        try:
            for item in self.selection.select(self.rows()):
                if self._stop.is_set():
                    return
                total += 1
                done += isinstance(item, Done)
        except Exception:  # the main pass reports input errors; a count is only a display aid
            return
        self.stats.expected = (total, done)

    def stop(self) -> None:
        self._stop.set()


def count_ahead(rows: Callable[[], Iterator[Row]], selection: Selection, stats: Stats) -> AheadCount:
    return AheadCount(rows, selection, stats)


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
        todo = s.todo
        finished = s.done + s.failed
        elapsed = now - s.started
        rate = finished / elapsed if elapsed > 0 else 0.0
        eta = (todo - finished) / rate if rate > 0 and todo is not None else float("nan")
        width = 24
        filled = (int(width * finished / todo) if todo else width) if todo is not None else 0
        summary = s.summary()
        accept = " ".join(f"{k[:4]} {v:.0%}" for k, v in summary["acceptance_rate"].items())
        rounds = " ".join(f"{k[:4]} {v:.1f}" for k, v in summary["mean_rounds"].items())
        line = (
            f"[{'#' * filled}{'.' * (width - filled)}] {finished}/{'?' if todo is None else todo} {rate:.2f} it/s "
            f"ETA {_duration(eta)} | failed {s.failed} | accepted {accept or '-'} | rounds {rounds or '-'} "
            f"| calls {s.calls} tokens {s.tokens}"
        )
        if "workers" in s.extra:
            line += f" | {s.extra.get('engine')} x{s.extra['workers']}"
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
