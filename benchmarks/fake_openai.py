"""A fast fixed-latency OpenAI-compatible server for benchmarks (ASGI on uvicorn, asyncio sleeps).

The threaded test server is fine for tests but serialises many simultaneous requests on the GIL; a
benchmark's fake model must not be its bottleneck. Critic requests (with tools) get a tool call with
score SCORE (default 5: accepts at once); drafting requests get a short text.
Run: python benchmarks/fake_openai.py --port P --delay S [--score N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

DELAY = 0.5
SCORE = 5


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    body = b""
    more = True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    request = json.loads(body or b"{}")
    await asyncio.sleep(DELAY)
    if request.get("tools"):
        name = request["tools"][0]["function"]["name"]
        verdict = {"feedback": "Good." if SCORE >= 4 else "Be more specific.", "score": SCORE}
        call = {"id": "c1", "type": "function", "function": {"name": name, "arguments": json.dumps(verdict)}}
        message_out: dict[str, Any] = {"role": "assistant", "content": None, "tool_calls": [call]}
        finish = "tool_calls"
    else:
        message_out, finish = {"role": "assistant", "content": "1. A principle.\n2. Another."}, "stop"
    payload = {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": request.get("model", "fake"),
        "choices": [{"index": 0, "message": message_out, "finish_reason": finish}],
        "usage": {"prompt_tokens": 100, "completion_tokens": 10, "total_tokens": 110},
    }
    data = json.dumps(payload).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": data})


@contextmanager
def running(port: int, delay: float, score: int = 5) -> Iterator[str]:
    """This server in a child process on 127.0.0.1:``port`` (critiques scoring ``score``); yields its
    OpenAI base URL once it accepts connections, and stops it on exit."""
    command = [sys.executable, str(Path(__file__).resolve()), "--port", str(port), "--delay", str(delay)]
    server = subprocess.Popen(
        [*command, "--score", str(score)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the fake OpenAI server on port {port} did not start") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        server.terminate()
        server.wait(10)


def main() -> None:
    global DELAY, SCORE
    import uvicorn

    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--delay", type=float, default=0.5)
    parser.add_argument("--score", type=int, default=5)
    args = parser.parse_args()
    DELAY, SCORE = args.delay, args.score
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", backlog=1024)


if __name__ == "__main__":
    main()
