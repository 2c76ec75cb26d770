"""One writer per batch output: exclusive locks held for the whole run.

Two ``flock`` locks, both released by the kernel when the process ends in any way (even SIGKILL), so a
killed run never leaves a stale lock: one on the lock file beside the output's resolved path (so every
name of the output that resolves to it, through symlinks or ``..``, meets the same lock, and the file
names the holder), and one on the output itself, its file or folder (so a second name of the same file,
a hard link, meets it too). A second run does not wait: it stops at once (exit code 2) naming the holder.

A run that is refused leaves nothing behind: the lock file, an output file it created empty, and folders
it created are removed again on :meth:`OutputLock.release`.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import stat
import time
from pathlib import Path
from typing import Any

from spri.api import SpriError
from spri.batch.layout import Layout


class OutputBusy(SpriError):
    """Another run holds the output's lock."""


class OutputLock:
    def __init__(self, layout: Layout) -> None:
        self.layout, self.path, self.output = layout, layout.lock, layout.out
        self._fd = self._out_fd = -1
        self._made: list[Path] = []
        self._made_output = False

    def acquire(self) -> OutputLock:
        try:
            self._fd = self._lock_the_lock_file()
            self._out_fd = self._lock_the_output()
        except BaseException:
            self.release()
            raise
        since = time.strftime("%Y-%m-%d %H:%M:%S")
        os.ftruncate(self._fd, 0)
        os.write(self._fd, f"pid {os.getpid()} on {socket.gethostname()} since {since}\n".encode())
        return self

    def _lock_the_lock_file(self) -> int:
        self._made = _make_folders(self.path.parent, self.output)
        while True:
            fd = self._open(self.path, os.O_RDWR | os.O_CREAT)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _read(fd)
                os.close(fd)
                raise self._busy(holder or "holder unknown") from None
            if self._still_linked(fd):
                return fd
            os.close(fd)  # the previous holder removed the file between our open and our lock: again

    def _lock_the_output(self) -> int:
        """Lock the output's own file (created empty if new) or folder."""
        existed = self.output.exists()
        flags = os.O_RDONLY | os.O_NONBLOCK | (0 if self.layout.parts else os.O_CREAT)
        fd = self._open(self.output, flags)
        self._made_output = not existed and not self.layout.parts
        mode = os.fstat(fd).st_mode
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            os.close(fd)
            raise SpriError(f"-o {self.output} is not a regular file; use another -o")
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _kernel_holder(fd)
            os.close(fd)
            raise self._busy(f"under another name of the same file; {holder or 'holder unknown'}") from None
        return fd

    def relock(self) -> None:
        """Lock the output file again after it was replaced by a new file of the same name."""
        old, self._out_fd = self._out_fd, -1
        self._out_fd = self._lock_the_output()
        os.close(old)

    def _busy(self, holder: str) -> OutputBusy:
        return OutputBusy(
            f"{self.output} is being written by another spri batch ({holder}); wait for it to finish or "
            "stop it, then run again"
        )

    def _open(self, path: Path, flags: int) -> int:
        try:
            return os.open(path, flags | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            reason = (exc.strerror or str(exc)).lower()
            raise SpriError(f"cannot write {self.output}: {reason} ({path})") from exc

    def _still_linked(self, fd: int) -> bool:
        try:
            return os.stat(self.path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            return False

    def release(self) -> None:
        if self._fd >= 0:
            self.path.unlink(missing_ok=True)  # removed while still locked, so no one can lock a dead file
            os.close(self._fd)
            self._fd = -1
        if self._out_fd >= 0:
            if self._made_output and self.output.is_file() and self.output.stat().st_size == 0:
                self.output.unlink()  # created by this run and never written
            os.close(self._out_fd)
            self._out_fd = -1
        for folder in reversed(self._made):
            with contextlib.suppress(OSError):  # not empty: something was written there, keep it
                folder.rmdir()
        self._made = []

    def __enter__(self) -> OutputLock:
        return self.acquire()

    def __exit__(self, *exc: Any) -> None:
        self.release()


def _make_folders(folder: Path, output: Path) -> list[Path]:
    """Create ``folder`` and its missing parents; the ones created, outermost first."""
    missing = [p for p in [folder, *folder.parents] if not p.exists()][::-1]
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        for made in reversed([p for p in missing if p.exists()]):
            with contextlib.suppress(OSError):
                made.rmdir()
        raise SpriError(f"cannot write {output}: {(exc.strerror or str(exc)).lower()} ({folder})") from exc
    return missing


def _read(fd: int) -> str:
    try:
        return os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
    except OSError:
        return ""


def _kernel_holder(fd: int) -> str:
    """The process holding an flock on this file, from the kernel's lock table (Linux), if found."""
    info = os.fstat(fd)
    key = f"{os.major(info.st_dev):02x}:{os.minor(info.st_dev):02x}:{info.st_ino}"
    try:
        table = Path("/proc/locks").read_text()
    except OSError:
        return ""
    for line in table.splitlines():
        fields = line.split()
        if len(fields) > 5 and fields[1] == "FLOCK" and fields[5] == key:
            return f"pid {fields[4]} on {socket.gethostname()}"
    return ""
