"""A LangSmith stand-in on 127.0.0.1 that records the runs a client sends (multipart or JSON batch)."""

from __future__ import annotations

import gzip
import json
import os
import threading
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.support import ROOT
from tests.support.openai_server import free_port


class LangSmithRecorder:
    def __init__(self) -> None:
        self.runs: dict[str, dict[str, Any]] = {}
        self.feedback: list[dict[str, Any]] = []
        self.requests: list[str] = []
        self._lock = threading.Lock()
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:
                pass

            def _reply(self, status: int, payload: Any) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                with recorder._lock:
                    recorder.requests.append(f"GET {self.path}")
                if self.path.startswith("/info"):
                    config = {
                        "use_multipart_endpoint": True,
                        "scale_up_qsize_trigger": 1000,
                        "scale_up_nthreads_limit": 4,
                        "scale_down_nempty_trigger": 4,
                        "size_limit": 100,
                        "size_limit_bytes": 20_000_000,
                    }
                    self._reply(200, {"version": "test", "batch_ingest_config": config, "instance_flags": {}})
                else:
                    self._reply(404, {})

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                with recorder._lock:
                    recorder.requests.append(f"POST {self.path}")
                if self.path.startswith("/runs/multipart"):
                    recorder._multipart(self.headers.get("Content-Type", ""), body)
                elif self.path.startswith("/runs/batch"):
                    payload = json.loads(body)
                    for run in payload.get("post", []):
                        recorder._merge(run["id"], run)
                    for run in payload.get("patch", []):
                        recorder._merge(run["id"], run)
                elif self.path.rstrip("/") == "/runs":
                    run = json.loads(body)
                    recorder._merge(run["id"], run)
                elif self.path.rstrip("/") == "/feedback":
                    with recorder._lock:
                        recorder.feedback.append(json.loads(body))
                self._reply(202, {})

            def do_PATCH(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                run_id = self.path.rstrip("/").split("/")[-1]
                recorder._merge(run_id, json.loads(body))
                self._reply(202, {})

        self.port = free_port()
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _merge(self, run_id: str, data: dict[str, Any]) -> None:
        with self._lock:
            run = self.runs.setdefault(str(run_id), {})
            for key, value in data.items():
                if key == "extra" and isinstance(value, dict) and isinstance(run.get("extra"), dict):
                    merged = {**run["extra"], **value}
                    merged["metadata"] = {**run["extra"].get("metadata", {}), **value.get("metadata", {})}
                    run["extra"] = merged
                elif value is not None or key not in run:
                    run[key] = value

    def _multipart(self, content_type: str, body: bytes) -> None:
        message = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition") or ""
            payload = part.get_payload(decode=True) or b"{}"
            operation, _, rest = name.partition(".")
            run_id, _, field = rest.partition(".")
            if operation == "feedback":
                with self._lock:
                    self.feedback.append(json.loads(payload))
                continue
            if operation not in ("post", "patch") or not run_id:
                continue
            data = json.loads(payload)
            self._merge(run_id, {field: data} if field else data)

    def by_name(self, name: str) -> list[dict[str, Any]]:
        with self._lock:
            return [r for r in self.runs.values() if r.get("name") == name]

    def __enter__(self) -> LangSmithRecorder:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()


def base_env(url: str) -> dict[str, str]:
    """This environment with tracing sent to the recorder at ``url`` (and SPRI importable from ROOT)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LANGSMITH_", "LANGCHAIN_"))}
    env.update(
        LANGSMITH_ENDPOINT=url,
        LANGSMITH_API_KEY="test-key",
        LANGSMITH_DISABLE_RUN_COMPRESSION="true",
        PYTHONPATH=str(ROOT),
    )
    return env
