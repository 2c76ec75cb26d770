"""API keys as a new user meets them: the README's `SPRI_API_KEYS=... spri serve` line starts a server as
written and its keys work; one rule (16 characters or more) for SPRI_API_KEY and SPRI_API_KEYS, stated
when a key breaks it; /health names the models only when the server has no keys; `serve --help` shows
the port and its default."""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys

import httpx
import pytest

from tests.support.docs import pages
from tests.support.openai_server import free_port
from tests.support.processes import cli_env, wait_for_http
from tests.support.serving import server_env, serving


def readme_serve_line() -> str:
    text = "\n".join(page.read_text(encoding="utf-8") for page in pages())
    found = re.search(r"^\s*(SPRI_API_KEYS=\"[^\"]+\"[^\n]*spri serve)\s*$", text, re.M)
    assert found, "neither the README nor docs/ has a SPRI_API_KEYS=... spri serve example"
    return found.group(1)


def test_the_readmes_named_keys_example_starts_a_server_whose_keys_work(tmp_path):
    line = readme_serve_line()
    keys = dict(pair.split(":", 1) for pair in re.search(r'SPRI_API_KEYS="([^"]+)"', line).group(1).split())
    port = free_port()
    env = cli_env(tmp_path, PATH=f"{sys.executable.rsplit('/', 1)[0]}:/usr/bin:/bin")
    env.pop("SPRI_API_KEY", None)
    proc = subprocess.Popen(
        ["bash", "-c", f"{line} --port {port}"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/health", proc)
        url = f"http://127.0.0.1:{port}"
        assert httpx.get(url + "/health").json() == {"status": "ok"}  # keys set: the models are not named
        for name, key in keys.items():
            assert httpx.get(url + "/metrics", headers={"Authorization": f"Bearer {key}"}).status_code == 200, name
        assert httpx.get(url + "/metrics").status_code == 401
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)
    assert len(keys) == 2 and all(len(key) >= 16 for key in keys.values())
    assert shlex.split(line)[-2:] == ["spri", "serve"]


@pytest.mark.parametrize(
    "variable,value,named",
    [("SPRI_API_KEY", "abc", "SPRI_API_KEY"), ("SPRI_API_KEYS", "alice:KEY1 bob:KEY2", "key of 'alice'")],
)
def test_a_short_key_stops_the_server_with_the_rule(tmp_path, variable, value, named):
    command = [sys.executable, "-m", "spri.cli", "serve", "--port", str(free_port())]
    done = subprocess.run(
        command, env=server_env(tmp_path, **{variable: value}), capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert named in done.stderr and "API keys need at least 16 characters, without spaces or commas" in done.stderr
    assert "KEY1" not in done.stderr  # the key itself is never shown


def test_health_names_the_models_only_without_keys(tmp_path):
    with serving(tmp_path) as open_server:
        assert httpx.get(open_server.url + "/health").json() == {
            "status": "ok",
            "model": "openai:fake",
            "critic": "openai:fake",
        }
    with serving(tmp_path, SPRI_API_KEY="operator-key-0123456789") as keyed:
        assert httpx.get(keyed.url + "/health").json() == {"status": "ok"}


def test_serve_help_shows_the_port_and_its_default():
    done = subprocess.run(
        [sys.executable, "-m", "spri.cli", "serve", "--help"], capture_output=True, text=True, timeout=60
    )
    assert re.search(r"--port PORT\s+TCP port to listen on \(default 8000\)", done.stdout), done.stdout
    assert "at least 16 characters" in done.stdout
