"""The private Ray's launcher: when the driver dies, every process of the launcher's session ends, even
one that ignores SIGTERM (as ``ray start`` may, once one of its processes is already gone). No Ray
processes: a stand-in that ignores SIGTERM and has a child of its own."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from spri.batch.ray_cluster import _LAUNCHER

STUBBORN = (
    "import signal, subprocess, sys, time\n"
    "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    "subprocess.Popen([sys.executable, '-c', 'import signal, time; "
    "signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(120)'])\n"
    "time.sleep(120)\n"
)

DRIVER = (
    "import os, subprocess, sys, time\n"
    "launcher = subprocess.Popen([sys.executable, '-c', sys.argv[1], str(os.getpid()), sys.executable, '-c', "
    "sys.argv[2]], start_new_session=True)\n"
    "print(launcher.pid, flush=True)\n"
    "time.sleep(120)\n"
)


def in_session(session: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
                if os.getsid(int(entry.name)) == session and state != "Z":
                    found.append(int(entry.name))
            except (OSError, IndexError):
                continue
    return found


def wait_until(condition, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_a_killed_driver_takes_every_process_of_the_launchers_session_with_it():
    driver = subprocess.Popen([sys.executable, "-c", DRIVER, _LAUNCHER, STUBBORN], stdout=subprocess.PIPE, text=True)
    assert driver.stdout is not None
    session = int(driver.stdout.readline())
    try:
        assert wait_until(lambda: len(in_session(session)) >= 3), "launcher, stand-in and its child"
        driver.send_signal(signal.SIGKILL)
        driver.wait(10)
        assert wait_until(lambda: not in_session(session), timeout=15), in_session(session)
    finally:
        driver.kill()
        for pid in in_session(session):
            os.kill(pid, signal.SIGKILL)
