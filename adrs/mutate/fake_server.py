"""A real HTTP server that speaks the OpenAI chat-completions protocol, for tests and demos.

No real model is reachable from CI, so the LLM path is exercised against this
server: it listens on loopback, answers `POST /v1/chat/completions` with
replies from a responder function, reports token usage, and can inject
latency and failures (429 with Retry-After, 5xx) to test retries.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# Takes the request body (model, messages, ...) and returns the assistant's text.
Responder = Callable[[dict], str]


class FakeOpenAIServer:
    def __init__(self, responder: Responder, latency: float = 0.0,
                 failures: list[tuple[int, dict]] | None = None):
        self.responder = responder
        self.latency = latency
        self.failures = list(failures or [])  # (status, headers) served before successes
        self.requests: list[dict] = []
        self.active = self.max_active = 0  # requests being answered now / at most at once
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def __enter__(self) -> FakeOpenAIServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def _next_failure(self) -> tuple[int, dict] | None:
        with self._lock:
            return self.failures.pop(0) if self.failures else None

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the http.server naming
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with server._lock:
                    server.requests.append(body)
                    server.active += 1
                    server.max_active = max(server.max_active, server.active)
                try:
                    self._answer(body)
                finally:
                    with server._lock:
                        server.active -= 1

            def _answer(self, body: dict):
                time.sleep(server.latency)
                if failure := server._next_failure():
                    status, headers = failure
                    return self._send(status, {"error": {"message": "injected failure"}},
                                      headers)
                if not self.path.endswith("/chat/completions"):
                    return self._send(404, {"error": {"message": f"no route {self.path}"}})
                return self._send(200, _completion(body, server.responder(body)))

            def _send(self, status: int, payload: dict, headers: dict | None = None):
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):  # keep test output clean
                pass

        return Handler


def _completion(body: dict, text: str) -> dict:
    prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in body["messages"])
    completion_tokens = len(text.split())
    return {
        "id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()),
        "model": body.get("model", "fake"),
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": text}}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens},
    }
