"""The chat-model seam: one small protocol (`ChatModel`: `ChatRequest` in, `ChatResult` out) and backends.

- `OpenAIChatModel`: any OpenAI-compatible endpoint (OpenAI, vLLM, SGLang), with retries, a concurrency
  cap, n fan-out, per-server structured-output fields and token/cost accounting.
- `HFChatModel`: a local transformers causal LM (``hf:smollm2`` is bundled and offline).
- `ReplayChatModel` / `RecordingChatModel`: record a run to JSONL and replay it exactly, offline.
- `RequestCache`: a directory of results keyed by `ChatRequest.key(model)`.

`make_model("openai:gpt-4o-mini" | "hf:smollm2" | "replay:run.jsonl", **kw)` builds one from a string.
Backends import their heavy dependencies (openai, torch, transformers) only when built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from brickfield.llm.cache import RequestCache
from brickfield.llm.errors import (
    LLMConfigError,
    LLMConnectionError,
    LLMError,
    LLMRequestError,
    LLMResponseError,
    LLMServerError,
    LLMTimeoutError,
    LLMUnsupportedError,
    ReplayMissError,
)
from brickfield.llm.factory import make_model
from brickfield.llm.replay import RecordingChatModel, ReplayChatModel, read_transcript
from brickfield.llm.retry import RetryPolicy
from brickfield.llm.types import ChatModel, ChatRequest, ChatResult, Completion, StructuredOutput, Usage
from brickfield.llm.usage import PRICES, Price, UsageMeter

if TYPE_CHECKING:
    from brickfield.llm.hf_backend import HFChatModel
    from brickfield.llm.openai_backend import OpenAIChatModel

_LAZY = {"OpenAIChatModel": "brickfield.llm.openai_backend", "HFChatModel": "brickfield.llm.hf_backend"}


def __getattr__(name: str) -> Any:
    # openai and torch/transformers load only when their backend is used.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'brickfield.llm' has no attribute {name!r}")


__all__ = [
    "PRICES",
    "ChatModel",
    "ChatRequest",
    "ChatResult",
    "Completion",
    "HFChatModel",
    "LLMConfigError",
    "LLMConnectionError",
    "LLMError",
    "LLMRequestError",
    "LLMResponseError",
    "LLMServerError",
    "LLMTimeoutError",
    "LLMUnsupportedError",
    "OpenAIChatModel",
    "Price",
    "RecordingChatModel",
    "ReplayChatModel",
    "ReplayMissError",
    "RequestCache",
    "RetryPolicy",
    "StructuredOutput",
    "Usage",
    "UsageMeter",
    "make_model",
    "read_transcript",
]
