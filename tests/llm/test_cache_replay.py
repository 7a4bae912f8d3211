"""Disk cache, transcripts and replay: a run is reproduced exactly with no server at all."""

from __future__ import annotations

import asyncio
import json

import pytest

from brickfield.llm import (
    ChatRequest,
    ChatResult,
    LLMConfigError,
    LLMConnectionError,
    RecordingChatModel,
    ReplayChatModel,
    ReplayMissError,
    RequestCache,
    make_model,
)
from tests.llm.fake_server import FakeChatServer, ok

REQ = ChatRequest.from_prompt("build a table", n=2, seed=3, temperature=0.8)


def test_cache_hit_makes_no_request_and_survives_a_new_client(client_factory, tmp_path):
    with FakeChatServer() as srv:
        first = client_factory(base_url=srv.url, cache=tmp_path)
        live = first.complete(REQ)
        again = first.complete(REQ)
        assert len(srv.requests) == 1
        assert again.cached and not live.cached and again.texts == live.texts
        assert first.usage.calls == 1 and first.usage.cache_hits == 1
        dead_url = srv.url
    # The server is gone: a fresh client on the same cache still answers, offline.
    second = client_factory(base_url=dead_url, cache=str(tmp_path))
    offline = second.complete(REQ)
    assert offline.cached and offline.texts == live.texts and offline.usage == live.usage
    assert second.usage.http_requests == 0
    with pytest.raises(LLMConnectionError):  # an uncached request really would need the server
        second.complete(ChatRequest.from_prompt("not cached"))


def test_cache_key_separates_models_and_request_fields(client_factory, server, tmp_path):
    a = client_factory(model="model-a", cache=tmp_path)
    b = client_factory(model="model-b", cache=tmp_path)
    a.complete(REQ)
    b.complete(REQ)
    a.complete(ChatRequest.from_prompt("build a table", n=2, seed=4, temperature=0.8))
    assert len(server.requests) == 3 and len(RequestCache(tmp_path)) == 3


def test_corrupt_cache_entry_is_a_miss(client_factory, server, tmp_path):
    client = client_factory(cache=tmp_path)
    client.complete(REQ)
    cache = RequestCache(tmp_path)
    cache.path_for(REQ.key(client.name)).write_text("{not json")
    assert not client.complete(REQ).cached
    assert len(server.requests) == 2 and cache.get(REQ.key(client.name)) is not None  # rewritten


def test_recording_and_replay_reproduce_a_run_offline(client, tmp_path):
    path = tmp_path / "run.jsonl"
    recorder = RecordingChatModel(client, path)
    requests = [REQ, ChatRequest.from_prompt("a chair", temperature=0.0)]
    live = [recorder.complete(r) for r in requests]
    live.append(asyncio.run(recorder.acomplete(requests[0])))
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [rec["key"] for rec in lines] == [r.key(client.name) for r in (*requests, requests[0])]
    assert all(rec["model"] == "fake-model" for rec in lines)

    replay = make_model(f"replay:{path}")
    assert replay.name == client.name
    served = [replay.complete(r) for r in (*requests, requests[0])]
    assert [s.texts for s in served] == [r.texts for r in live]
    assert all(s.cached for s in served) and replay.usage.cache_hits == 3

    other = ChatRequest.from_prompt("a rocket")
    with pytest.raises(ReplayMissError) as info:
        replay.complete(other)
    assert info.value.key == other.key(client.name) and info.value.key in str(info.value)


def test_replay_serves_repeated_requests_in_recorded_order(tmp_path):
    records = [{"key": REQ.key("m"), "model": "m", "request": REQ.to_dict(),
                "result": ChatResult.from_dict({"completions": [{"text": t}]}).to_dict()}
               for t in ("one", "two")]
    replay = ReplayChatModel(records)
    assert [replay.complete(REQ).text for _ in range(3)] == ["one", "two", "two"]


def test_replay_from_cache_directory_and_export(client_factory, server, tmp_path):
    client = client_factory(cache=tmp_path / "cache")
    live = client.complete(REQ)
    from_dir = ReplayChatModel(tmp_path / "cache")
    assert from_dir.complete(REQ).texts == live.texts
    exported = tmp_path / "cache.jsonl"
    assert RequestCache(tmp_path / "cache").export_jsonl(exported) == 1
    assert ReplayChatModel(exported).complete(REQ).texts == live.texts


def test_malformed_transcript_is_a_config_error(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"key": "abc", "result": {"completions": []}}\nnot json\n')
    with pytest.raises(LLMConfigError, match=":2:"):
        ReplayChatModel(bad)
    with pytest.raises(LLMConfigError):
        ReplayChatModel(tmp_path / "missing.jsonl")


def test_record_wrapper_via_make_model(server, tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    model = make_model("openai:fake-model", base_url=server.url, record=tmp_path / "t.jsonl")
    try:
        server.push(ok("recorded"))
        assert model.complete(ChatRequest.from_prompt("x")).text == "recorded"
    finally:
        model.close()
    assert ReplayChatModel(tmp_path / "t.jsonl").complete(ChatRequest.from_prompt("x")).text == "recorded"
    assert isinstance(model, RecordingChatModel) and model.usage.calls == 1
