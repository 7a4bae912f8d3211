"""Structured-output fields per server dialect: the exact JSON body the server received."""

from __future__ import annotations

import pytest

from brickfield.llm import ChatRequest, LLMConfigError, LLMUnsupportedError, StructuredOutput

BRICK_RE = r"(2x4 \((1[0-9]|[0-9]),(1[0-9]|[0-9]),(1[0-9]|[0-9])\)\n)+"
GBNF = 'root ::= line+\nline ::= "2x4 (" c "," c "," c ")\\n"\nc ::= "1" [0-9] | [0-9]'
SCHEMA = {"type": "object", "properties": {"bricks": {"type": "array"}}, "required": ["bricks"]}
MESSAGES = [{"role": "system", "content": "You build with bricks."}, {"role": "user", "content": "a chair"}]


def _request(structured: StructuredOutput | None = None, **kwargs) -> ChatRequest:
    return ChatRequest(messages=tuple(MESSAGES), temperature=0.5, top_p=0.9, max_tokens=64, seed=7,
                       structured=structured, **kwargs)


def _core(max_field: str = "max_tokens") -> dict:
    return {"model": "fake-model", "messages": MESSAGES, "temperature": 0.5, "top_p": 0.9, "n": 1, "seed": 7,
            max_field: 64}


@pytest.mark.parametrize(("dialect", "structured", "expected"), [
    ("vllm", StructuredOutput("regex", BRICK_RE), {"structured_outputs": {"regex": BRICK_RE}}),
    ("vllm", StructuredOutput("ebnf", GBNF), {"structured_outputs": {"grammar": GBNF}}),
    ("vllm", StructuredOutput("json_schema", SCHEMA), {"structured_outputs": {"json": SCHEMA}}),
    ("vllm<0.12", StructuredOutput("regex", BRICK_RE), {"guided_regex": BRICK_RE}),
    ("vllm<0.12", StructuredOutput("ebnf", GBNF), {"guided_grammar": GBNF}),
    ("vllm<0.12", StructuredOutput("json_schema", SCHEMA), {"guided_json": SCHEMA}),
    ("sglang", StructuredOutput("regex", BRICK_RE), {"regex": BRICK_RE}),
    ("sglang", StructuredOutput("ebnf", GBNF), {"ebnf": GBNF}),
    ("sglang", StructuredOutput("json_schema", SCHEMA),
     {"response_format": {"type": "json_schema", "json_schema": {"name": "output", "schema": SCHEMA}}}),
])
def test_structured_fields_per_dialect(client_factory, server, dialect, structured, expected):
    client_factory(dialect=dialect).complete(_request(structured))
    assert server.bodies == [_core() | expected]


def test_openai_dialect_sends_json_schema_as_response_format(client_factory, server):
    # A schema given as JSON text is sent as an object.
    import json

    client_factory(dialect="openai").complete(_request(StructuredOutput("json_schema", json.dumps(SCHEMA))))
    expected = _core("max_completion_tokens") | {
        "response_format": {"type": "json_schema", "json_schema": {"name": "output", "schema": SCHEMA}}}
    assert server.bodies == [expected]


@pytest.mark.parametrize("kind", ["regex", "ebnf"])
def test_openai_dialect_refuses_regex_and_grammar_without_a_request(client_factory, server, kind):
    client = client_factory(dialect="openai")
    with pytest.raises(LLMUnsupportedError, match=kind):
        client.complete(_request(StructuredOutput(kind, BRICK_RE)))
    assert server.requests == []


def test_plain_request_has_no_structured_fields_and_sends_stop(client_factory, server):
    client_factory(dialect="vllm").complete(_request(stop=("\n\n", "END")))
    assert server.bodies == [_core() | {"stop": ["\n\n", "END"]}]


def test_continue_final_message_fields(client_factory, server):
    msgs = (*MESSAGES, {"role": "assistant", "content": "2x4 (0,0,"})
    request = ChatRequest(messages=msgs, max_tokens=8, temperature=0.0, continue_final=True)
    client_factory(dialect="sglang").complete(request)
    body = server.bodies[0]
    assert body["continue_final_message"] is True and body["add_generation_prompt"] is False
    assert body["messages"][-1] == {"role": "assistant", "content": "2x4 (0,0,"}
    with pytest.raises(LLMUnsupportedError):
        client_factory(dialect="openai").complete(request)
    assert len(server.requests) == 1


def test_extra_body_is_merged(client_factory, server):
    client = client_factory(dialect="vllm", extra_body={"top_k": 20})
    client.complete(_request(StructuredOutput("regex", "a+")))
    assert server.bodies[0]["top_k"] == 20 and server.bodies[0]["structured_outputs"] == {"regex": "a+"}


def test_unknown_dialect_is_a_config_error(client_factory):
    with pytest.raises(LLMConfigError, match="dialect"):
        client_factory(dialect="tgi")
    assert client_factory(dialect="vllm-legacy").dialect == "vllm<0.12"
