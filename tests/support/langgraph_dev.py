"""`langgraph dev` (LangGraph's server, what Studio talks to) as a child process in tests: started in a
project folder holding only langgraph.json and .env (as a user's would), with spri's settings pointing at
a loopback fake OpenAI-compatible model, and its log kept to check for checkpoint-type warnings."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support import ROOT
from tests.support.openai_server import OpenAIServer, Policy, free_port
from tests.support.processes import cli_env

LANGGRAPH = Path(sys.executable).with_name("langgraph")
SERDE_WARNINGS = ("Deserializing unregistered type", "Blocked deserialization")


@dataclass
class DevServer:
    """`langgraph dev` in ``workdir``; ``model`` is the fake model server its .env points at."""

    workdir: Path
    env: dict[str, str]
    log_path: Path
    model: OpenAIServer
    proc: subprocess.Popen | None = None
    url: str = ""

    def start(self) -> None:
        port = free_port()
        command = [str(LANGGRAPH), "dev", "--no-browser", "--no-reload", "--host", "127.0.0.1", "--port", str(port)]
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(command, cwd=self.workdir, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{port}"
        for _ in range(1200):
            if self.proc.poll() is not None:
                break
            try:
                if httpx.get(self.url + "/ok", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise AssertionError(f"langgraph dev did not come up:\n{self.log()[-3000:]}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def serde_warnings(self) -> list[str]:
        """The log's lines warning about checkpoint types the server's serde does not know."""
        return [line for line in self.log().splitlines() if any(w in line for w in SERDE_WARNINGS)]


@contextmanager
def langgraph_dev(folder: Path, policy: Policy) -> Iterator[DevServer]:
    """A running `langgraph dev` whose spri answers from a fake model replying with ``policy``; on exit
    the server is stopped and its log must hold no checkpoint-type warnings."""
    if not LANGGRAPH.exists():
        raise AssertionError(f"langgraph CLI not installed at {LANGGRAPH} (make test installs langgraph-cli[inmem])")
    workdir = folder / "project"  # langgraph dev writes .langgraph_api/ next to the config
    workdir.mkdir()
    shutil.copy(ROOT / "langgraph.json", workdir / "langgraph.json")
    with OpenAIServer(policy) as model_server:
        settings = {
            "SPRI_MODEL": "openai:fake",
            "OPENAI_API_KEY": "test-key",
            "OPENAI_BASE_URL": model_server.base_url,
            "SPRI_MAX_RETRIES": "0",
        }
        (workdir / ".env").write_text("".join(f"{k}={v}\n" for k, v in settings.items()))
        env = cli_env(folder, LANGGRAPH_CLI_NO_ANALYTICS="1", LANGGRAPH_NO_VERSION_CHECK="true")
        for name in settings:
            env.pop(name, None)  # the settings come from .env, through langgraph.json's "env"
        server = DevServer(workdir, env, folder / "langgraph-dev.log", model_server)
        server.start()
        try:
            yield server
        finally:
            server.stop()
        assert not server.serde_warnings(), server.log()[-3000:]
