"""A real OpenAI-compatible chat-completions server on 127.0.0.1 for tests.

Each request is answered by ``policy(request) -> Action``; every request body is recorded. Actions
cover normal replies, tool calls (structured output via function calling), streaming, and faults:
an HTTP status with headers, a hang, a connection closed mid-body, malformed JSON.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    text: str = ""
    tool_args: dict[str, Any] | None = None  # answer with a tool call carrying these arguments
    delay: float = 0.0


@dataclass
class Fault:
    status: int = 500
    headers: dict[str, str] = field(default_factory=dict)
    body: str = '{"error": {"message": "injected fault", "type": "server_error"}}'
    hang: float = 0.0  # sleep this long before answering (past a client's timeout)
    close: bool = False  # send headers and half a body, then close the connection
    malformed: bool = False  # 200 with a body that is not JSON


Action = Reply | Fault


class _Server(ThreadingHTTPServer):
    request_queue_size = 256  # many clients connect at once in batch tests and benchmarks
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that gave up (timeouts, killed processes) close connections mid-reply: not news."""
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


Policy = Callable[[dict[str, Any]], Action]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class OpenAIServer:
    def __init__(self, policy: Policy, port: int | None = None) -> None:
        self.policy = policy
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out at once, no delayed-ACK stalls

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                if self.path.rstrip("/").endswith("/models"):
                    self._json(200, {"object": "list", "data": [{"id": "fake", "object": "model"}]})
                else:
                    self._json(404, {"error": {"message": "not found"}})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                with server._lock:
                    server.requests.append(body)
                action = server.policy(body)
                if isinstance(action, Fault):
                    self._fault(action)
                else:
                    time.sleep(action.delay)
                    self._reply(body, action)

            def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            def _fault(self, fault: Fault) -> None:
                if fault.hang:
                    time.sleep(fault.hang)
                if fault.close:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", "1000")
                    self.end_headers()
                    self.wfile.write(b'{"id": "x", "choi')
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if fault.malformed:
                    data = b"this is not json"
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                data = fault.body.encode()
                self.send_response(fault.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in fault.headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            def _reply(self, request: dict[str, Any], reply: Reply) -> None:
                prompt_words = sum(len(str(m.get("content") or "").split()) for m in request.get("messages", []))
                message: dict[str, Any] = {"role": "assistant", "content": reply.text}
                finish = "stop"
                if reply.tool_args is not None and request.get("tools"):
                    tool = request["tools"][0]["function"]["name"]
                    message = {
                        "role": "assistant",
                        "content": None,
                        "tool_calls": [
                            {
                                "id": "call_1",
                                "type": "function",
                                "function": {"name": tool, "arguments": json.dumps(reply.tool_args)},
                            }
                        ],
                    }
                    finish = "tool_calls"
                completion_words = len((reply.text or json.dumps(reply.tool_args or {})).split())
                usage = {
                    "prompt_tokens": prompt_words,
                    "completion_tokens": completion_words,
                    "total_tokens": prompt_words + completion_words,
                }
                if request.get("stream"):
                    self._stream(request, message, finish, usage)
                    return
                self._json(
                    200,
                    {
                        "id": "chatcmpl-test",
                        "object": "chat.completion",
                        "created": int(time.time()),
                        "model": request.get("model", "fake"),
                        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                        "usage": usage,
                    },
                )

            def _stream(self, request: dict[str, Any], message: dict[str, Any], finish: str, usage: Any) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                self.close_connection = True
                base = {
                    "id": "chatcmpl-test",
                    "object": "chat.completion.chunk",
                    "created": int(time.time()),
                    "model": request.get("model", "fake"),
                }
                delta = {k: v for k, v in message.items() if v is not None}
                for i, tc in enumerate(delta.get("tool_calls", [])):
                    tc["index"] = i
                chunks = [
                    {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]},
                    {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]},
                    {**base, "choices": [], "usage": usage},
                ]
                for chunk in chunks:
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()

        self.port = port or free_port()
        self._server = _Server(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> OpenAIServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()


def is_critic_request(request: dict[str, Any]) -> bool:
    messages = request.get("messages") or []
    return bool(request.get("tools")) or (
        bool(messages) and messages[0].get("role") == "system" and "You review" in str(messages[0].get("content"))
    )


def main() -> None:
    """Serve a fixed-latency accepting model: ``python -m tests.support.openai_server --port P --delay S``."""
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--delay", type=float, default=0.5)
    args = parser.parse_args()

    def policy(request: dict[str, Any]) -> Action:
        if is_critic_request(request):
            return Reply(tool_args={"feedback": "Good.", "score": 5}, delay=args.delay)
        return Reply(text="1. A principle.\n2. Another.", delay=args.delay)

    server = OpenAIServer(policy, port=args.port)
    server._server.serve_forever()


if __name__ == "__main__":
    main()


class HangingCritic:
    """A policy wrapper for kill tests: critic requests hang (after setting ``reached``) until
    :meth:`stop`; everything else goes to ``inner``."""

    def __init__(self, inner: Policy) -> None:
        self.inner = inner
        self.reached = threading.Event()
        self._release = threading.Event()
        self._hanging = True

    def __call__(self, request: dict[str, Any]) -> Action:
        if self._hanging and is_critic_request(request):
            self.reached.set()
            self._release.wait(30)
            return Fault(status=503)
        return self.inner(request)

    def stop(self) -> None:
        self._hanging = False
        self._release.set()


FAULT_KINDS = ("rate_limit", "server_error", "unavailable", "hang", "cut", "malformed", "empty", "no_score")


class FaultSchedule:
    """A seeded fault injector: each request, with probability ``rate``, gets one of ``kinds``
    (429 with Retry-After, 500, 503, a hang past the client's timeout, a connection closed mid-body,
    malformed JSON, empty content, or a critique with no score); otherwise ``inner`` answers."""

    def __init__(
        self,
        inner: Policy,
        *,
        rate: float = 0.2,
        seed: int = 0,
        hang: float = 3.0,
        kinds: tuple[str, ...] = FAULT_KINDS,
    ) -> None:
        import random
        from collections import Counter

        self.inner, self.rate, self.hang, self.kinds = inner, rate, hang, kinds
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self.injected: Counter[str] = Counter()
        self.answered = 0

    def __call__(self, request: dict[str, Any]) -> Action:
        with self._lock:
            faulty = self._random.random() < self.rate
            kind = self._random.choice(self.kinds)
            if faulty:
                self.injected[kind] += 1
            else:
                self.answered += 1
        if not faulty:
            return self.inner(request)
        if kind == "rate_limit":
            return Fault(
                status=429,
                headers={"Retry-After": "1", "retry-after-ms": "200"},
                body='{"error": {"message": "rate limited", "type": "rate_limit_error"}}',
            )
        if kind == "server_error":
            return Fault(status=500)
        if kind == "unavailable":
            return Fault(status=503)
        if kind == "hang":
            return Fault(status=500, hang=self.hang)
        if kind == "cut":
            return Fault(close=True)
        if kind == "malformed":
            return Fault(malformed=True)
        if kind == "empty":
            return Reply(text="")
        return Reply(text="I have read it carefully and have thoughts.")  # no_score: no tool call, no score
