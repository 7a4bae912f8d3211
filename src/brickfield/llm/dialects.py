"""Per-server request fields: how a `ChatRequest` becomes the JSON body of /v1/chat/completions.

Servers agree on the OpenAI core fields but not on structured output:
- ``vllm`` (>= 0.12): ``structured_outputs: {"regex" | "grammar" | "json": ...}``
- ``vllm<0.12``: ``guided_regex`` / ``guided_grammar`` / ``guided_json`` (removed in vLLM 0.12)
- ``sglang``: top-level ``regex`` / ``ebnf``; JSON schema through ``response_format``
- ``openai``: ``response_format`` json_schema only; a regex or grammar raises LLMUnsupportedError.
"""

from __future__ import annotations

from typing import Any, Literal

from brickfield.llm.errors import LLMConfigError, LLMUnsupportedError
from brickfield.llm.types import ChatRequest, StructuredOutput

Dialect = Literal["openai", "vllm", "vllm<0.12", "sglang"]
DIALECTS: tuple[str, ...] = ("openai", "vllm", "vllm<0.12", "sglang")
_ALIASES = {"vllm-legacy": "vllm<0.12", "vllm_legacy": "vllm<0.12"}
_SCHEMA_NAME = "output"


def normalize_dialect(dialect: str) -> str:
    """The canonical dialect name; LLMConfigError for an unknown one."""
    name = _ALIASES.get(dialect.strip().lower(), dialect.strip().lower())
    if name not in DIALECTS:
        raise LLMConfigError(f"unknown dialect {dialect!r}; choose one of {DIALECTS}")
    return name


def _response_format(structured: StructuredOutput) -> dict[str, Any]:
    return {"type": "json_schema", "json_schema": {"name": _SCHEMA_NAME, "schema": structured.schema()}}


def structured_fields(structured: StructuredOutput, dialect: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(top-level SDK arguments, extra_body fields) that express `structured` in `dialect`."""
    kind = structured.kind
    if dialect == "vllm":
        key = {"regex": "regex", "ebnf": "grammar", "json_schema": "json"}[kind]
        value = structured.schema() if kind == "json_schema" else structured.value
        return {}, {"structured_outputs": {key: value}}
    if dialect == "vllm<0.12":
        key = {"regex": "guided_regex", "ebnf": "guided_grammar", "json_schema": "guided_json"}[kind]
        value = structured.schema() if kind == "json_schema" else structured.value
        return {}, {key: value}
    if dialect == "sglang":
        if kind == "json_schema":
            return {"response_format": _response_format(structured)}, {}
        return {}, {kind: structured.value}  # the field names are literally "regex" and "ebnf"
    if kind != "json_schema":
        raise LLMUnsupportedError(f"the {dialect!r} dialect has no {kind} constraint (only json_schema); "
                                  "use a vllm or sglang server for regex/grammar output")
    return {"response_format": _response_format(structured)}, {}


def build_params(request: ChatRequest, model: str, dialect: str, *, n: int | None = None,
                 seed: int | None = None, extra_body: dict[str, Any] | None = None) -> dict[str, Any]:
    """Keyword arguments for ``client.chat.completions.create`` (``n``/``seed`` override the request's,
    used by the n fan-out)."""
    params: dict[str, Any] = {"model": model, "messages": [dict(m) for m in request.messages],
                              "temperature": request.temperature, "top_p": request.top_p,
                              "n": request.n if n is None else n}
    # OpenAI's reasoning models refuse max_tokens; self-hosted servers all read max_tokens.
    params["max_completion_tokens" if dialect == "openai" else "max_tokens"] = request.max_tokens
    chosen_seed = request.seed if seed is None else seed
    if chosen_seed is not None:
        params["seed"] = chosen_seed
    if request.stop:
        params["stop"] = list(request.stop)
    body: dict[str, Any] = dict(extra_body or {})
    if request.continue_final:
        if dialect == "openai":
            raise LLMUnsupportedError("the 'openai' dialect cannot continue an assistant prefix "
                                      "(continue_final); use a vllm or sglang server")
        body.update({"continue_final_message": True, "add_generation_prompt": False})
    if request.structured is not None:
        top, extra = structured_fields(request.structured, dialect)
        params.update(top)
        body.update(extra)
    if body:
        params["extra_body"] = body
    return params
