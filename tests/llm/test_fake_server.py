"""The reusable fake server itself, driven with the stdlib HTTP client (what other test suites rely on)."""

from __future__ import annotations

import http.client
import json

import pytest

from tests.llm.fake_server import FakeChatServer, Reply, completion_body, drop, ok, rate_limited, truncated


def _post(server: FakeChatServer, body: dict | bytes, timeout: float = 2.0) -> tuple[int, dict, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=timeout)
    try:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        conn.request("POST", "/v1/chat/completions", body=raw, headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()
    finally:
        conn.close()


def test_default_echo_honours_n_and_records_bodies():
    with FakeChatServer() as srv:
        sent = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "n": 2, "seed": 4}
        status, _, raw = _post(srv, sent)
        assert status == 200
        texts = [c["message"]["content"] for c in json.loads(raw)["choices"]]
        assert texts == ["hi #0 seed=4", "hi #1 seed=4"]
        assert srv.bodies == [sent]
        assert srv.requests[0].index == 0 and srv.requests[0].time > 0


def test_queue_then_responder_then_default():
    calls = []

    def responder(rec):
        calls.append(rec.index)
        return completion_body(["from responder"]) if rec.index == 1 else None

    with FakeChatServer(responder, ignore_n=True) as srv:
        srv.push(ok("queued"))
        body = {"messages": [{"role": "user", "content": "x"}], "n": 3}
        answers = [json.loads(_post(srv, body)[2])["choices"] for _ in range(3)]
        assert [[c["message"]["content"] for c in a] for a in answers] == [
            ["queued"], ["from responder"], ["x #0 seed=None"]]  # ignore_n: one choice only
        assert calls == [1, 2]  # the queued reply bypasses the responder


def test_faults_on_the_wire():
    with FakeChatServer() as srv:
        plain = Reply(status=200, body=b"plain", content_type="text/plain")
        srv.push(rate_limited("1.5"), truncated(), drop(), plain)
        status, headers, _ = _post(srv, {})
        assert status == 429 and headers["Retry-After"] == "1.5"
        with pytest.raises(http.client.IncompleteRead):
            _post(srv, {})
        with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
            _post(srv, {})
        status, headers, raw = _post(srv, b"not json either")
        assert (status, headers["Content-Type"], raw) == (200, "text/plain", b"plain")
        assert srv.requests[-1].body is None and srv.requests[-1].raw == b"not json either"
        assert len(srv.requests) == 4
