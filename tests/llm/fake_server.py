"""A scriptable OpenAI-compatible chat server on 127.0.0.1 for tests (stdlib only, reusable).

    with FakeChatServer() as server:
        server.push(rate_limited(retry_after="0.2"), server_error(500))   # the next two requests fail
        model = OpenAIChatModel("fake", base_url=server.url, api_key="x")
        model.complete(request)                                              # third request answers
        assert len(server.requests) == 3 and server.requests[-1].body["n"] == 1

Replies come from the FIFO queue filled by `push`, then from `responder(recorded_request)` when given
(return None to fall through), then from the default echo reply: n choices (or 1 with `ignore_n=True`),
choice i reads ``"<last message content> #i seed=<seed>"``. Every request is recorded with its parsed JSON
body and a server-side `time.monotonic()` timestamp. Faults: `rate_limited`, `server_error`, `bad_request`,
`stall` (answer after a delay, for client timeouts), `truncated` (Content-Length promises more than is sent),
`not_json`, `empty_choices`, `drop` (close the connection without answering).
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

Action = Literal["respond", "drop", "truncate"]


@dataclass
class Reply:
    """What the server does with one request."""

    status: int = 200
    body: Any = None  # a dict/list is sent as JSON; str/bytes are sent as they are
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering (cut short when the server stops)
    action: Action = "respond"
    content_type: str = "application/json"

    def payload(self) -> bytes:
        """The body bytes."""
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode("utf-8")
        return json.dumps(self.body if self.body is not None else {}).encode("utf-8")


@dataclass
class RecordedRequest:
    """One request the server received."""

    method: str
    path: str
    headers: dict[str, str]
    raw: bytes
    body: Any  # parsed JSON, or None when the body was not JSON
    time: float  # time.monotonic() on arrival
    index: int  # 0-based arrival order


def completion_body(texts: list[str], *, model: str = "fake-model", finish_reason: str | None = "stop",
                    prompt_tokens: int = 7, completion_tokens: int | None = None) -> dict[str, Any]:
    """An OpenAI chat.completion JSON body with one choice per text."""
    if completion_tokens is None:
        completion_tokens = sum(len(t.split()) for t in texts)
    return {"id": "chatcmpl-fake", "object": "chat.completion", "created": 0, "model": model,
            "choices": [{"index": i, "message": {"role": "assistant", "content": t},
                         "finish_reason": finish_reason, "logprobs": None} for i, t in enumerate(texts)],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens}}


def ok(*texts: str, **kwargs: Any) -> Reply:
    """A 200 answer with these completion texts."""
    return Reply(body=completion_body(list(texts), **kwargs))


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status=status, body={"error": {"message": message, "type": "fake_error", "code": status}},
                 headers=headers or {})


def rate_limited(retry_after: str | None = "0.2", *, header: str = "Retry-After") -> Reply:
    """429 with a Retry-After header (or `header="retry-after-ms"`; None sends no header)."""
    return _error(429, "rate limited", {header: retry_after} if retry_after is not None else {})


def server_error(status: int = 500) -> Reply:
    """A 5xx answer."""
    return _error(status, "internal error")


def bad_request(status: int = 400, message: str = "bad grammar") -> Reply:
    """A non-retryable 4xx answer."""
    return _error(status, message)


def stall(seconds: float, then: Reply | None = None) -> Reply:
    """Wait `seconds` before answering (longer than the client's timeout makes it a timeout)."""
    reply = then or ok("late answer")
    return Reply(reply.status, reply.body, reply.headers, seconds, reply.action, reply.content_type)


def truncated() -> Reply:
    """A 200 whose Content-Length promises more bytes than are sent before the connection closes."""
    return Reply(body=completion_body(["this body is cut short"]), action="truncate")


def not_json() -> Reply:
    """A 200 labelled JSON whose body is HTML."""
    return Reply(body=b"<html><body>502 Bad Gateway</body></html>")


def empty_choices() -> Reply:
    """A 200 chat.completion with an empty choices list."""
    return Reply(body=completion_body([]))


def drop() -> Reply:
    """Close the connection without sending anything."""
    return Reply(action="drop")


Responder = Callable[[RecordedRequest], "Reply | dict | None"]


class FakeChatServer:
    """A threaded HTTP server on 127.0.0.1 (port 0) speaking enough of /v1/chat/completions for tests."""

    def __init__(self, responder: Responder | None = None, *, ignore_n: bool = False,
                 model: str = "fake-model") -> None:
        self.responder = responder
        self.ignore_n = ignore_n
        self.model = model
        self.requests: list[RecordedRequest] = []
        self._queue: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------------------------
    def start(self) -> FakeChatServer:
        """Bind a free port and serve in a daemon thread."""
        handler = type("Handler", (_Handler,), {"fake": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fake-chat-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; stalled handlers wake up and drop their connection."""
        self._stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeChatServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The bound port."""
        assert self._httpd is not None, "server not started"
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        """Base URL for an OpenAI client (ends in /v1)."""
        return f"http://127.0.0.1:{self.port}/v1"

    # -- scripting -----------------------------------------------------------------------------------------
    def push(self, *replies: Reply | dict) -> None:
        """Queue replies for the next requests, in order (a dict is a 200 JSON body)."""
        with self._lock:
            self._queue.extend(r if isinstance(r, Reply) else Reply(body=r) for r in replies)

    @property
    def bodies(self) -> list[Any]:
        """The JSON bodies of every chat request so far."""
        with self._lock:
            return [r.body for r in self.requests if r.path.endswith("/chat/completions")]

    def clear(self) -> None:
        """Forget recorded requests and queued replies."""
        with self._lock:
            self.requests.clear()
            self._queue.clear()

    def default_reply(self, request: RecordedRequest) -> Reply:
        """Echo: n choices (1 when ignoring n) naming the last message and the seed."""
        body = request.body if isinstance(request.body, dict) else {}
        messages = body.get("messages") or [{}]
        last = messages[-1].get("content", "") if isinstance(messages[-1], dict) else ""
        n = 1 if self.ignore_n else int(body.get("n") or 1)
        texts = [f"{last} #{i} seed={body.get('seed')}" for i in range(n)]
        prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in messages if isinstance(m, dict))
        return ok(*texts, model=body.get("model", self.model), prompt_tokens=prompt_tokens,
                  completion_tokens=3 * len(texts))

    def _record_and_choose(self, handler: _Handler, raw: bytes) -> Reply:
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = None
        with self._lock:
            rec = RecordedRequest(handler.command, handler.path, dict(handler.headers.items()), raw, parsed,
                                  time.monotonic(), len(self.requests))
            self.requests.append(rec)
            queued = self._queue.popleft() if self._queue else None
        if queued is not None:
            return queued
        if self.responder is not None:
            answer = self.responder(rec)
            if answer is not None:
                return answer if isinstance(answer, Reply) else Reply(body=answer)
        return self.default_reply(rec)


class _Handler(BaseHTTPRequestHandler):
    fake: FakeChatServer
    protocol_version = "HTTP/1.1"  # keep-alive, like real servers: pooled connections get reused
    # Headers and body go out in separate writes; with Nagle on, the body waits for the client's delayed
    # ACK (~40 ms per call on loopback).
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        pass

    def do_GET(self) -> None:
        if self.path.rstrip("/").endswith("/models"):
            self._send(Reply(body={"object": "list", "data": [{"id": self.fake.model, "object": "model"}]}))
        else:
            self._send(_error(404, "not found"))

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        reply = self.fake._record_and_choose(self, raw)
        if reply.delay > 0 and self.fake._stopping.wait(reply.delay):
            reply = Reply(action="drop")
        try:
            self._send(reply)
        except OSError:  # the client gave up (timeout) while we stalled: nothing to do
            self.close_connection = True

    def _send(self, reply: Reply) -> None:
        if reply.action == "drop":
            self._hang_up()
            return
        payload = reply.payload()
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        declared = len(payload) + (64 if reply.action == "truncate" else 0)
        self.send_header("Content-Length", str(declared))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if reply.action == "truncate":
            self.wfile.write(payload[: len(payload) // 2])
            self.wfile.flush()
            self._hang_up()
            return
        self.wfile.write(payload)
        self.wfile.flush()

    def _hang_up(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)
