"""A fast fixed-latency OpenAI-compatible server for benchmarks (ASGI on uvicorn, asyncio sleeps).

The threaded test server is fine for tests but serialises many simultaneous requests on the GIL; a
benchmark's fake model must not be its bottleneck. Critic requests (with tools) get a tool call that
accepts at once; drafting requests get a short text. Run: python benchmarks/fake_openai.py --port P --delay S
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any

DELAY = 0.5


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
        call = {
            "id": "c1",
            "type": "function",
            "function": {"name": name, "arguments": '{"feedback": "Good.", "score": 5}'},
        }
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


def main() -> None:
    global DELAY
    import uvicorn

    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--delay", type=float, default=0.5)
    args = parser.parse_args()
    DELAY = args.delay
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", backlog=1024)


if __name__ == "__main__":
    main()
