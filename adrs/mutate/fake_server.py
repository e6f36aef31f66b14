"""A real HTTP server that speaks the OpenAI chat-completions protocol, for tests and demos.

No real model is reachable from CI, so the LLM path is exercised against this
server (`adrs fake-llm --port P`, or `FakeOpenAIServer` in tests). It listens
on loopback and answers `POST /v1/chat/completions`. By default it behaves like
a plausible model: it takes the current program from the prompt's first code
block, edits it with the offline mutator (seeded by the request's `seed`), and
answers with a SEARCH/REPLACE diff when the prompt asks for one, else with the
whole program in a code block. Asked to rewrite a prompt (the meta step of
evolving prompts), it answers with advice that changes nothing it does; with
`responder=advice_responder` (`adrs fake-llm --advice`, adrs.mutate.fake_advice)
hidden phrases in a prompt make its edits better. It reports token usage and can
add latency.

Fault modes, served on every `fault_every`-th request (optionally only to the
models in `fault_models`), or from an explicit `failures` list of
(status, headers) served first:
    rate_limit  429 with Retry-After        server_error  500
    hang        no answer until after the client's timeout
    truncated   the body stops short of its Content-Length
    malformed   200 with a body that is not JSON
    no_code     a reply with no code        bad_diff  a diff whose SEARCH text is absent
    trickle     a good reply sent a few bytes at a time over `hang_seconds`
    echo_key    a 400 whose error message repeats the request's Authorization header
    negative_usage / no_usage   a good reply with negative token counts / no usage
    no_choices  200 with usage (billed) but no choices; null_content  "content": null
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from adrs.mutate.fake_advice import META_ASK, USELESS, edit_reply, meta_reply

# Takes the request body (model, messages, ...) and returns the assistant's text.
Responder = Callable[[dict], str]
FAULTS = ("rate_limit", "server_error", "hang", "truncated", "malformed", "no_code",
          "bad_diff", "trickle", "echo_key", "negative_usage", "no_usage", "no_choices",
          "null_content")


def offline_responder(body: dict) -> str:
    """A plausible model: an offline edit of the prompt's current program (or, asked to
    rewrite a prompt, advice that does not change what it does: see fake_advice)."""
    prompt = body["messages"][-1]["content"]
    if META_ASK in prompt:
        return meta_reply(body, USELESS)
    return edit_reply(body, ())


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # many clients connect at once (the default backlog is 5)


class FakeOpenAIServer:
    """An HTTP server on loopback speaking the OpenAI chat-completions protocol, answering
    with offline edits, with optional latency and injected faults."""

    def __init__(self, responder: Responder = offline_responder, latency: float = 0.0,
                 failures: list[tuple[int, dict]] | None = None, fault: str | None = None,
                 fault_every: int = 3, hang_seconds: float = 5.0, host: str = "127.0.0.1",
                 port: int = 0, fault_models: set[str] | None = None):
        if fault is not None and fault not in FAULTS:
            raise ValueError(f"unknown fault mode {fault!r}; choose from {', '.join(FAULTS)}")
        self.responder = responder
        self.latency = latency
        self.failures = list(failures or [])  # (status, headers) served before successes
        self.fault, self.fault_every, self.hang_seconds = fault, max(1, fault_every), hang_seconds
        self.fault_models = fault_models  # only these models get faults; None = all
        self.requests: list[dict] = []
        self.faults_served = 0
        self.active = self.max_active = 0  # requests being answered now / at most at once
        self._lock = threading.Lock()
        self._httpd = _Server((host, port), self._handler())
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The base URL to give an OpenAI client (…/v1)."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def __enter__(self) -> FakeOpenAIServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def serve_forever(self) -> None:
        """Serve until the process is stopped (`adrs fake-llm`)."""
        self._httpd.serve_forever()

    def _admit(self, body: dict) -> tuple[tuple[int, dict] | None, str | None]:
        """Log the request; return the injected failure or fault mode it gets, if any."""
        with self._lock:
            self.requests.append(body)
            self.active += 1
            self.max_active = max(self.max_active, self.active)
            if self.failures:
                return self.failures.pop(0), None
            if self.fault_models is not None and body.get("model") not in self.fault_models:
                return None, None
            if self.fault and len(self.requests) % self.fault_every == 0:
                self.faults_served += 1
                return None, self.fault
            return None, None

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as real endpoints do

            def setup(self):
                super().setup()
                # no Nagle delay: headers and body are separate writes, and the 40 ms
                # delayed-ACK stall would dwarf the latency being simulated
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def do_POST(self):  # noqa: N802 - the http.server naming
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                failure, fault = server._admit(body)
                try:
                    time.sleep(server.latency)
                    if failure:
                        self._send(failure[0], {"error": {"message": "injected failure"}},
                                   failure[1])
                    elif not self.path.endswith("/chat/completions"):
                        self._send(404, {"error": {"message": f"no route {self.path}"}})
                    else:
                        self._answer(body, fault)
                finally:
                    with server._lock:
                        server.active -= 1

            def _answer(self, body: dict, fault: str | None):
                if fault == "rate_limit":
                    return self._send(429, {"error": {"message": "slow down"}},
                                      {"Retry-After": "0.05"})
                if fault == "server_error":
                    return self._send(500, {"error": {"message": "injected 500"}})
                if fault == "hang":
                    time.sleep(server.hang_seconds)
                    self.close_connection = True
                    return None
                if fault == "malformed":
                    return self._raw(200, b'{"id": "chatcmpl-fake", "choices": [')
                if fault == "echo_key":  # a proxy that quotes the request in its error
                    return self._send(400, {"error": {"message": "bad request from "
                                                      + self.headers.get("Authorization", "")}})
                text = {"no_code": "Sorry, I have no idea.",
                        "bad_diff": "<<<<<<< SEARCH\nthis line is not in the program\n=======\n"
                                    "pass\n>>>>>>> REPLACE\n"}.get(fault or "")
                reply = _completion(body, text or server.responder(body))
                if fault == "negative_usage":
                    reply["usage"] = {"prompt_tokens": -5000, "completion_tokens": -7}
                elif fault == "no_usage":
                    del reply["usage"]
                elif fault == "no_choices":
                    reply["choices"] = []
                elif fault == "null_content":
                    reply["choices"][0]["message"]["content"] = None
                data = json.dumps(reply).encode()
                if fault == "truncated":
                    return self._raw(200, data[: len(data) // 2], length=len(data))
                if fault == "trickle":
                    return self._trickle(data)
                return self._raw(200, data)

            def _trickle(self, data: bytes):
                """Headers at once, then the body in small pieces until hang_seconds."""
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                pieces = [data[i:i + 16] for i in range(0, len(data), 16)]
                for piece in pieces:
                    time.sleep(server.hang_seconds / len(pieces))
                    self.wfile.write(piece)
                    self.wfile.flush()

            def _send(self, status: int, payload: dict, headers: dict | None = None):
                self._raw(status, json.dumps(payload).encode(), headers=headers)

            def _raw(self, status: int, data: bytes, length: int | None = None,
                     headers: dict | None = None):
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(length or len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)
                if length:  # a short body: the client must see the connection close
                    self.close_connection = True

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
