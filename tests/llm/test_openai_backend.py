"""OpenAIChatModel against a real HTTP server on 127.0.0.1: faults, retries, n fan-out, concurrency."""

from __future__ import annotations

import asyncio
import itertools
import threading
import time

import pytest

from brickfield.llm import (
    ChatRequest,
    LLMConfigError,
    LLMConnectionError,
    LLMRequestError,
    LLMResponseError,
    LLMServerError,
    LLMTimeoutError,
    RetryPolicy,
    make_model,
)
from tests.llm.conftest import FAST_RETRY
from tests.llm.fake_server import (
    FakeChatServer,
    RecordedRequest,
    Reply,
    bad_request,
    drop,
    empty_choices,
    not_json,
    ok,
    rate_limited,
    server_error,
    stall,
    truncated,
)

REQ = ChatRequest.from_prompt("hello", max_tokens=16, temperature=0.0)


def test_plain_call_returns_completions_usage_and_timing(client, server):
    server.push(ok("a brick", "two bricks", prompt_tokens=11, completion_tokens=5))
    result = client.complete(ChatRequest.from_prompt("hello", n=2))
    assert result.texts == ["a brick", "two bricks"]
    assert [c.finish_reason for c in result.completions] == ["stop", "stop"]
    assert result.usage.prompt_tokens == 11 and result.usage.completion_tokens == 5
    assert sum(c.completion_tokens for c in result.completions) == 5  # the total split, not lost
    assert result.seconds > 0 and not result.cached
    assert client.usage.calls == 1 and client.usage.http_requests == 1 and client.usage.retries == 0


@pytest.mark.parametrize("fault", [server_error(500), server_error(503), truncated(), not_json(),
                                   empty_choices(), drop(), rate_limited(None)],
                         ids=["500", "503", "truncated", "not-json", "empty-choices", "dropped",
                              "429-no-header"])
def test_each_transient_fault_is_retried_then_answered(client, server, fault):
    server.push(fault)
    result = client.complete(REQ)
    assert result.texts == ["hello #0 seed=None"]
    assert len(server.requests) == 2
    assert client.usage.retries == 1 and client.usage.errors == 0


@pytest.mark.parametrize(("fault", "error"), [
    (server_error(502), LLMServerError), (truncated(), LLMConnectionError), (drop(), LLMConnectionError),
    (not_json(), LLMResponseError), (empty_choices(), LLMResponseError)])
def test_a_fault_that_never_clears_is_a_typed_error_after_max_attempts(client, server, fault, error):
    server.push(*[fault] * FAST_RETRY.max_attempts)
    with pytest.raises(error) as info:
        client.complete(REQ)
    assert info.value.attempts == FAST_RETRY.max_attempts
    assert len(server.requests) == FAST_RETRY.max_attempts
    assert client.usage.errors == 1
    if isinstance(info.value, LLMServerError):
        assert info.value.status == 502


def test_timeout_is_retried_and_reported(client, server):
    server.push(stall(5.0))  # far beyond the client's 0.3 s timeout; cut short when the server stops
    assert client.complete(REQ).texts == ["hello #0 seed=None"]
    assert len(server.requests) == 2
    server.clear()
    server.push(*[stall(5.0)] * FAST_RETRY.max_attempts)
    with pytest.raises(LLMTimeoutError) as info:
        client.complete(REQ)
    assert info.value.attempts == FAST_RETRY.max_attempts == len(server.requests)


@pytest.mark.parametrize(("header", "value", "wait"), [("Retry-After", "0.3", 0.3),
                                                       ("retry-after-ms", "250", 0.25)])
def test_retry_after_is_honoured(client, server, header, value, wait):
    server.push(rate_limited(value, header=header), rate_limited(value, header=header))
    result = client.complete(REQ)
    assert result.texts == ["hello #0 seed=None"]
    times = [r.time for r in server.requests]
    assert len(times) == 3 and client.usage.retries == 2
    # Backoff alone would wait at most 0.02 s: the server-side gaps prove the header was waited out.
    assert all(b - a >= wait for a, b in itertools.pairwise(times))


def test_retry_after_over_the_cap_fails_at_once(client_factory, server):
    client = client_factory(retry=RetryPolicy(max_attempts=4, backoff_base=0.005, max_retry_after=1.0))
    server.push(rate_limited("3600"))
    with pytest.raises(LLMServerError) as info:
        client.complete(REQ)
    assert info.value.status == 429 and info.value.attempts == 1
    assert len(server.requests) == 1


@pytest.mark.parametrize("status", [400, 401, 404, 422])
def test_client_errors_are_not_retried(client, server, status):
    server.push(bad_request(status, "grammar does not compile"))
    with pytest.raises(LLMRequestError) as info:
        client.complete(REQ)
    assert info.value.status == status and info.value.attempts == 1
    assert "grammar does not compile" in str(info.value)
    assert len(server.requests) == 1


def test_deadline_bounds_attempts_and_waits(client_factory, server):
    client = client_factory(retry=RetryPolicy(max_attempts=10, backoff_base=0.005, deadline=0.5))
    server.push(*[rate_limited("0.3")] * 10)
    with pytest.raises(LLMServerError) as info:
        client.complete(REQ)
    # 0.3 s waits fit once into a 0.5 s budget: two attempts, not ten.
    assert info.value.attempts == 2 == len(server.requests)


def test_n_fallback_issues_single_requests_with_distinct_seeds(client_factory):
    with FakeChatServer(ignore_n=True) as srv:
        client = client_factory(base_url=srv.url)
        result = client.complete(ChatRequest.from_prompt("hi", n=3, seed=40))
        assert result.texts == ["hi #0 seed=40", "hi #0 seed=41", "hi #0 seed=42"]
        first, *rest = srv.bodies
        assert first["n"] == 3 and first["seed"] == 40
        assert sorted((b["n"], b["seed"]) for b in rest) == [(1, 41), (1, 42)]
        assert client.server_ignores_n
        assert result.usage.completion_tokens == 9  # all three requests counted
        # Learned: the next call fans out straight away, never asking for n > 1 again.
        srv.clear()
        unseeded = client.complete(ChatRequest.from_prompt("yo", n=2))
        seeds = sorted(b["seed"] for b in srv.bodies)
        assert [b["n"] for b in srv.bodies] == [1, 1] and seeds[1] == seeds[0] + 1
        assert len(set(unseeded.texts)) == 2


def test_n_modes_native_and_fanout(client_factory):
    with FakeChatServer(ignore_n=True) as srv:
        native = client_factory(base_url=srv.url, n_mode="native")
        assert len(native.complete(ChatRequest.from_prompt("hi", n=3)).completions) == 1
        assert len(srv.requests) == 1
    with FakeChatServer() as srv:
        fanout = client_factory(base_url=srv.url, n_mode="fanout")
        assert len(fanout.complete(ChatRequest.from_prompt("hi", n=3, seed=0)).completions) == 3
        assert sorted(b["seed"] for b in srv.bodies) == [0, 1, 2] and {b["n"] for b in srv.bodies} == {1}


def test_fan_out_failure_keeps_finished_samples(client_factory, tmp_path):
    failed_once = threading.Event()

    def fail_seed_12_once(rec: RecordedRequest) -> Reply | None:
        if rec.body.get("seed") == 12 and not failed_once.is_set():
            failed_once.set()
            return bad_request(400, "seed 12 refused")
        return None

    with FakeChatServer(fail_seed_12_once, ignore_n=True) as srv:
        client = client_factory(base_url=srv.url, cache=tmp_path)
        request = ChatRequest.from_prompt("hi", n=3, seed=10)
        with pytest.raises(LLMRequestError) as info:
            client.complete(request)
        assert info.value.partial is not None
        assert info.value.partial.texts == ["hi #0 seed=10", "hi #0 seed=11"]
        srv.clear()
        again = client.complete(request)  # only the missing sample goes to the server
        assert [b["seed"] for b in srv.bodies] == [12]
        assert again.texts == ["hi #0 seed=10", "hi #0 seed=11", "hi #0 seed=12"]


def test_concurrency_cap_limits_requests_in_flight(client_factory):
    lock = threading.Lock()
    in_flight = [0, 0]  # current, peak

    def slow(rec: RecordedRequest) -> None:
        with lock:
            in_flight[0] += 1
            in_flight[1] = max(in_flight[1], in_flight[0])
        time.sleep(0.05)
        with lock:
            in_flight[0] -= 1
        return None

    with FakeChatServer(slow) as srv:
        client = client_factory(base_url=srv.url, concurrency=2, timeout=5.0)

        async def run_all():
            calls = (client.acomplete(ChatRequest.from_prompt(f"p{i}")) for i in range(6))
            return await asyncio.gather(*calls)

        results = asyncio.run(run_all())
        assert [r.texts[0] for r in results] == [f"p{i} #0 seed=None" for i in range(6)]
        assert len(srv.requests) == 6 and 1 <= in_flight[1] <= 2


def test_sync_complete_works_inside_a_running_event_loop(client, server):
    async def inside() -> list[str]:
        return client.complete(REQ).texts  # blocking call from loop code must not deadlock or raise

    assert asyncio.run(inside()) == ["hello #0 seed=None"]
    assert asyncio.run(client.acomplete(REQ)).texts == ["hello #0 seed=None"]  # a second, different loop
    assert len(server.requests) == 2


def test_many_threads_share_one_model(client, server):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=8) as pool:
        texts = list(pool.map(lambda i: client.complete(ChatRequest.from_prompt(f"t{i}")).text, range(16)))
    assert texts == [f"t{i} #0 seed=None" for i in range(16)]
    assert client.usage.calls == 16 == len(server.requests)


def test_a_forked_child_can_keep_using_the_model(client, server):
    import multiprocessing

    assert client.complete(REQ).texts == ["hello #0 seed=None"]  # the private loop thread now runs
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()

    def child() -> None:
        queue.put(client.complete(ChatRequest.from_prompt("from the child")).text)

    proc = ctx.Process(target=child)
    proc.start()
    proc.join(timeout=20)
    if proc.is_alive():
        proc.kill()
    assert proc.exitcode == 0 and queue.get(timeout=1) == "from the child #0 seed=None"


def test_environment_configures_base_url_key_and_model(server, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", server.url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    monkeypatch.setenv("OPENAI_MODEL", "env-model")
    model = make_model("openai:", retry=FAST_RETRY)
    try:
        assert model.complete(REQ).texts == ["hello #0 seed=None"]
    finally:
        model.close()
    assert server.requests[0].headers["authorization"] == "Bearer sk-from-env"
    assert server.bodies[0]["model"] == "env-model" and model.name == "env-model"


def test_missing_model_is_a_config_error(monkeypatch):
    monkeypatch.delenv("OPENAI_MODEL", raising=False)
    with pytest.raises(LLMConfigError):
        make_model("openai:")


def test_cost_and_totals_are_accounted(client_factory, server):
    client = client_factory(price=(1.0, 2.0))  # USD per million prompt / completion tokens
    server.push(ok("x", prompt_tokens=1000, completion_tokens=500),
                ok("y", prompt_tokens=10, completion_tokens=5))
    first = client.complete(REQ)
    client.complete(ChatRequest.from_prompt("again"))
    assert first.usage.cost_usd == pytest.approx(0.002)
    snap = client.usage.snapshot()
    assert snap["calls"] == 2 and snap["prompt_tokens"] == 1010 and snap["completion_tokens"] == 505
    assert snap["cost_usd"] == pytest.approx(0.00202)
