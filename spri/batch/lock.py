"""One writer per batch output: an exclusive lock held for the whole run.

The lock is ``flock`` on a small lock file next to the output; the kernel releases it when the process
ends in any way (even SIGKILL), so a killed run never leaves a stale lock. A second run on the same
output does not wait: it stops at once (exit code 2) naming the process that holds the lock.
"""

from __future__ import annotations

import fcntl
import os
import socket
import time
from pathlib import Path
from typing import Any

from spri.api import SpriError


class OutputBusy(SpriError):
    """Another run holds the output's lock."""


class OutputLock:
    def __init__(self, path: Path, output: Path) -> None:
        self.path, self.output = path, output
        self._fd = -1

    def acquire(self) -> OutputLock:
        while True:
            fd = self._open()
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _read(fd)
                os.close(fd)
                raise OutputBusy(
                    f"{self.output} is being written by another spri batch ({holder or 'holder unknown'}); "
                    "wait for it to finish or stop it, then run again"
                ) from None
            if self._still_linked(fd):
                break
            os.close(fd)  # the previous holder removed the file between our open and our lock: again
        self._fd = fd
        since = time.strftime("%Y-%m-%d %H:%M:%S")
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()} on {socket.gethostname()} since {since}\n".encode())
        return self

    def _open(self) -> int:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            return os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            reason = (exc.strerror or str(exc)).lower()
            raise SpriError(f"cannot write {self.output}: {reason} ({self.path})") from exc

    def _still_linked(self, fd: int) -> bool:
        try:
            return os.stat(self.path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            return False

    def release(self) -> None:
        if self._fd < 0:
            return
        self.path.unlink(missing_ok=True)  # removed while still locked, so no one can lock a dead file
        os.close(self._fd)
        self._fd = -1

    def __enter__(self) -> OutputLock:
        return self.acquire()

    def __exit__(self, *exc: Any) -> None:
        self.release()


def _read(fd: int) -> str:
    try:
        return os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
    except OSError:
        return ""
