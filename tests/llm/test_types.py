"""The protocol types: validation, stable keys, round trips; Retry-After parsing; the model factory."""

from __future__ import annotations

import email.utils

import pytest

from brickfield.core.errors import BrickfieldError
from brickfield.llm import (
    ChatModel,
    ChatRequest,
    ChatResult,
    Completion,
    LLMConfigError,
    LLMError,
    ReplayChatModel,
    StructuredOutput,
    Usage,
    make_model,
)
from brickfield.llm.retry import RetryPolicy, parse_retry_after


def test_key_is_stable_and_sensitive_to_every_field():
    base = ChatRequest.from_prompt("a chair", system="You build.", seed=1)
    same = ChatRequest(messages=[{"role": "system", "content": "You build."},  # a list is accepted
                                 {"role": "user", "content": "a chair"}], seed=1)
    assert base == same and base.key("m") == same.key("m") and hash(base) == hash(same)
    assert len(base.key("m")) == 64
    variants = [ChatRequest.from_prompt("a chair", system="You build.", seed=2),
                ChatRequest.from_prompt("a chair", system="You build.", seed=1, n=2),
                ChatRequest.from_prompt("a chair", system="You build.", seed=1, temperature=0.1),
                ChatRequest.from_prompt("a chair", system="You build.", seed=1, stop=("\n",)),
                ChatRequest.from_prompt("a chair", system="You build.", seed=1,
                                        structured=StructuredOutput("regex", "a+")),
                ChatRequest.from_prompt("a table", system="You build.", seed=1)]
    keys = {v.key("m") for v in variants} | {base.key("m"), base.key("other-model")}
    assert len(keys) == len(variants) + 2


def test_messages_are_copied_so_later_mutation_cannot_change_the_key():
    messages = [{"role": "user", "content": "a chair"}]
    request = ChatRequest(messages=messages)
    before = request.key("m")
    messages[0]["content"] = "a table"
    assert request.key("m") == before


@pytest.mark.parametrize("kwargs", [
    {"messages": ()}, {"messages": ({"content": "no role"},)}, {"messages": "just a string"},
    {"n": 0}, {"max_tokens": 0}, {"temperature": -1.0}, {"temperature": float("nan")}, {"top_p": 0.0},
    {"top_p": 1.5}, {"seed": 1.5}, {"stop": ("",)}, {"structured": "regex"}, {"continue_final": True}])
def test_bad_request_fields_are_config_errors(kwargs):
    fields = {"messages": ({"role": "user", "content": "hi"},)} | kwargs
    with pytest.raises(LLMConfigError):
        ChatRequest(**fields)


def test_structured_output_validation():
    with pytest.raises(LLMConfigError):
        StructuredOutput("cfg", "x")  # type: ignore[arg-type]
    with pytest.raises(LLMConfigError):
        StructuredOutput("regex", "")
    with pytest.raises(LLMConfigError):
        StructuredOutput("json_schema", "[1, 2").schema()
    assert StructuredOutput("json_schema", '{"type": "object"}').schema() == {"type": "object"}


def test_request_and_result_round_trip():
    msgs = ({"role": "user", "content": "hi"}, {"role": "assistant", "content": "2x"})
    request = ChatRequest(messages=msgs, n=3, seed=9, stop=("\n",), continue_final=True,
                          structured=StructuredOutput("json_schema", {"type": "object"}))
    assert ChatRequest.from_dict(request.to_dict()) == request
    comps = (Completion("a", "stop", 2), Completion("b", "length", 3))
    result = ChatResult(comps, Usage(5, 5, 0.01), "m", 1.5)
    assert ChatResult.from_dict(result.to_dict()) == result
    assert result.texts == ["a", "b"] and result.text == "a" and result.usage.total_tokens == 10
    with pytest.raises(LLMConfigError):
        ChatResult.from_dict({"completions": [{"no_text": 1}]})


def test_errors_are_brickfield_errors():
    assert issubclass(LLMError, BrickfieldError) and issubclass(LLMConfigError, LLMError)


def test_backends_satisfy_the_protocol(client):
    assert isinstance(client, ChatModel)
    assert isinstance(ReplayChatModel([]), ChatModel)


@pytest.mark.parametrize(("headers", "expected"), [
    ({"Retry-After": "2"}, 2.0), ({"retry-after": "0.5"}, 0.5), ({"retry-after-ms": "1500"}, 1.5),
    ({"retry-after-ms": "100", "retry-after": "9"}, 0.1), ({"Retry-After": "soon"}, None), ({}, None),
    ({"Retry-After": "-3"}, 0.0)])
def test_parse_retry_after(headers, expected):
    assert parse_retry_after(headers) == expected


def test_parse_retry_after_http_date():
    now = 1_700_000_000.0
    header = email.utils.formatdate(now + 30, usegmt=True)
    assert parse_retry_after({"Retry-After": header}, now=now) == pytest.approx(30.0)


def test_retry_policy_backoff_grows_and_caps():
    policy = RetryPolicy(backoff_base=0.5, backoff_max=2.0, jitter=0.0)
    assert [policy.backoff(a) for a in (1, 2, 3, 4)] == [0.5, 1.0, 2.0, 2.0]
    assert RetryPolicy.retryable_status(429) and RetryPolicy.retryable_status(503)
    assert not RetryPolicy.retryable_status(400) and not RetryPolicy.retryable_status(422)
    with pytest.raises(LLMConfigError):
        RetryPolicy(max_attempts=0)


@pytest.mark.parametrize("spec", ["gpt-4o", "azure:gpt", "", "hf:", "replay:"])
def test_bad_specs_are_config_errors(spec):
    with pytest.raises(LLMConfigError):
        make_model(spec)


def test_hf_spec_with_a_missing_path_is_a_config_error(tmp_path):
    with pytest.raises(LLMConfigError, match="no local model"):
        make_model(f"hf:{tmp_path / 'nowhere'}")
