"""A run waiting on an endpoint is never silent, and its failure is one line: `spri ask` prints each retry
on stderr (``endpoint X unreachable, retry 2/5 in 1.0 s``, numbered across the client's retries and the
step's), the endpoint without its credentials, then exactly one ``spri: error:`` line (LangGraph's
"During task with name ..." note is not printed)."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.support.openai_server import Fault, OpenAIServer, free_port
from tests.support.processes import cli_env

PASSWORD = "notice-pass-0123456789"
NOTICE = re.compile(r"^spri: endpoint (\S+) (.+), retry (\d+)/(\d+) in (about )?\d+(\.\d)? s$")


def ask(env: dict[str, str], *extra: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "spri.cli", "ask", "Q?", "--model", "openai:fake", "--thread", "t1", *extra]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


def test_an_unreachable_endpoint_shows_each_retry_then_one_error_line(tmp_path):
    endpoint = f"http://user:{PASSWORD}@127.0.0.1:{free_port()}/v1"
    env = cli_env(tmp_path, OPENAI_API_KEY="k", OPENAI_BASE_URL=endpoint, SPRI_MAX_RETRIES="1")
    done = ask(env)
    assert done.returncode == 2
    lines = done.stderr.splitlines()
    assert lines[0] == "thread t1" and PASSWORD not in done.stderr and "During task" not in done.stderr
    notices = [NOTICE.match(line) for line in lines[1:-1]]
    assert all(notices), lines
    shown = endpoint.replace(PASSWORD, "***")
    assert [(m[1], m[2], int(m[3]), int(m[4])) for m in notices if m] == [
        (shown, "unreachable", number, 5) for number in range(1, 6)
    ]
    assert lines[-1] == f"spri: error: cannot reach the model endpoint {shown} (is the server running? check " + (
        "OPENAI_BASE_URL, or spri batch's --base-url)"
    )


def test_a_failing_endpoint_is_retried_as_before_and_quiet_means_quiet(tmp_path):
    with OpenAIServer(lambda request: Fault(status=503)) as server:
        env = cli_env(tmp_path, OPENAI_API_KEY="k", OPENAI_BASE_URL=server.base_url, SPRI_MAX_RETRIES="1")
        done = ask(env)
        requests = len(server.requests)
        quiet = ask(env, "-q")
    assert requests == 6  # 3 attempts of the step x (1 + SPRI_MAX_RETRIES) requests, as before
    notices = [line for line in done.stderr.splitlines() if "answered HTTP 503, retry" in line]
    assert len(notices) == 5 and notices[-1].startswith(f"spri: endpoint {server.base_url} answered HTTP 503")
    assert done.stderr.count("spri: error:") == 1 and done.stderr.splitlines()[-1].startswith("spri: error:")
    assert quiet.returncode == done.returncode and quiet.stderr.count("\n") == 1, quiet.stderr
