"""The endpoint path against the fake OpenAI-compatible server: regex constraint, valid-prefix
continuation (assistant prefix or re-prompt), physics rollback, stalls."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from brickfield.gen.endpoint import generate_structure_endpoint
from brickfield.gen.errors import GenerationError
from brickfield.gen.grammar import BrickGrammar
from brickfield.llm import OpenAIChatModel, RetryPolicy
from tests.llm.fake_server import FakeChatServer, RecordedRequest, ok

FAST = RetryPolicy(max_attempts=2, backoff_base=0.005, backoff_max=0.01, jitter=0.0)
A, B, C = "2x4 (0,0,0)\n", "2x2 (0,0,1)\n", "1x1 (5,5,0)\n"
FLOATER = "1x1 (10,10,5)\n"


@pytest.fixture
def server() -> Iterator[FakeChatServer]:
    with FakeChatServer() as srv:
        yield srv


@pytest.fixture
def chat(server: FakeChatServer) -> Iterator[Callable[[str], OpenAIChatModel]]:
    made: list[OpenAIChatModel] = []

    def make(dialect: str = "vllm") -> OpenAIChatModel:
        model = OpenAIChatModel("fake-model", base_url=server.url, api_key="sk-test", dialect=dialect,
                                retry=FAST, timeout=5.0)
        made.append(model)
        return model

    yield make
    for m in made:
        m.close()


def _last(req: RecordedRequest) -> dict:
    return req.body["messages"][-1]


def test_structured_request_carries_the_brick_regex(server, chat):
    server.push(ok(A + B))
    gen = generate_structure_endpoint(chat("vllm"), "a tower", structured=True)
    assert gen.text == A + B and gen.stable
    body = server.bodies[0]
    assert body["structured_outputs"] == {"regex": BrickGrammar().regex()}
    assert body["messages"][0]["role"] == "system" and "a tower" in body["messages"][1]["content"]
    assert gen.stats.forward_passes == 1 and gen.stats.stop_reason == "eos"


def test_invalid_brick_keeps_the_prefix_and_continues_as_assistant_prefix(server, chat):
    server.push(ok("Here you go:\n" + A + A + C), ok(C))
    gen = generate_structure_endpoint(chat("vllm"), "x", continue_final=True)
    assert gen.text == A + C
    assert gen.stats.rejections == {"collision": 1}
    second = server.bodies[1]
    assert _last(server.requests[1]) == {"role": "assistant", "content": A}
    assert second["continue_final_message"] is True and second["add_generation_prompt"] is False
    assert [b["seed"] for b in server.bodies] == [0, 1]


def test_without_continue_final_it_reprompts_and_skips_an_echoed_prefix(server, chat):
    server.push(ok(A + "2x4 (1"), ok("```\n" + A + C + "```"))
    gen = generate_structure_endpoint(chat("openai"), "x")
    assert gen.text == A + C
    assert gen.stats.rejections == {"ill_formatted": 1}
    last = _last(server.requests[1])
    assert last["role"] == "user" and last["content"].endswith(A)
    assert "continue_final_message" not in server.bodies[1]


def test_unstable_result_is_rolled_back_and_regenerated(server, chat):
    server.push(ok(A + FLOATER), ok(B))
    gen = generate_structure_endpoint(chat("vllm"), "x", continue_final=True)
    assert gen.text == A + B
    assert gen.stats.regenerations == 1 and gen.stats.attempts_stable == [False, True]
    assert _last(server.requests[1])["content"] == A


def test_a_cut_off_reply_is_continued(server, chat):
    server.push(ok(A + "2x2 (0,", finish_reason="length"), ok(B))
    gen = generate_structure_endpoint(chat("vllm"), "x", continue_final=True)
    assert gen.text == A + B and len(server.requests) == 2


def test_prose_only_replies_stop_with_no_progress(server, chat):
    server.responder = lambda req: ok("I love LEGO!")
    gen = generate_structure_endpoint(chat("vllm"), "x")
    assert gen.stats.stop_reason == "no_progress" and len(gen.structure) == 0
    assert len(server.requests) == 3


def test_max_rounds_bounds_the_requests(server, chat):
    server.responder = lambda req: ok(FLOATER)
    gen = generate_structure_endpoint(chat("vllm"), "x", max_rounds=4, continue_final=True)
    assert len(server.requests) == 4
    assert gen.stable is False and "max_rounds" in gen.stats.unstable_reason


def test_regex_on_a_plain_openai_server_is_a_typed_error(server, chat):
    with pytest.raises(GenerationError) as err:
        generate_structure_endpoint(chat("openai"), "x", structured=True)
    assert err.value.code == "unsupported"
    assert not server.requests
