"""`make_model(spec)`: build a chat model from a short string such as ``openai:gpt-4o-mini``."""

from __future__ import annotations

import os
from typing import Any

from brickfield.llm.errors import LLMConfigError
from brickfield.llm.types import ChatModel

SCHEMES = ("openai", "hf", "replay")


def make_model(spec: str, *, record: str | os.PathLike[str] | None = None, **kwargs: Any) -> ChatModel:
    """Build a chat model from `spec`.

    - ``openai:<model>``: OpenAIChatModel (kwargs: base_url, api_key, dialect, concurrency, timeout, retry,
      n_mode, cache, price, ...; base URL and key default to OPENAI_BASE_URL / OPENAI_API_KEY, and an
      empty model to OPENAI_MODEL)
    - ``hf:<path>``: HFChatModel on a local folder or ``.gguf`` file; ``hf:smollm2`` is the bundled
      SmolLM2-135M-Instruct GGUF (kwargs: device, dtype, chat_template, logits_processor, cache, name)
    - ``replay:<transcript.jsonl or cache dir>``: ReplayChatModel (kwargs: model)

    `record=path` wraps the result in a RecordingChatModel writing that JSONL transcript.
    """
    if not isinstance(spec, str) or ":" not in spec:
        raise LLMConfigError(f"model spec must look like 'scheme:name', scheme in {SCHEMES}; got {spec!r}")
    scheme, _, rest = spec.partition(":")
    scheme = scheme.strip().lower()
    model: ChatModel
    if scheme == "openai":
        from brickfield.llm.openai_backend import OpenAIChatModel

        model = OpenAIChatModel(rest.strip() or None, **kwargs)
    elif scheme == "hf":
        from brickfield.llm.hf_backend import HFChatModel

        if not rest.strip():
            raise LLMConfigError("hf: needs a model path (or hf:smollm2)")
        model = HFChatModel(rest.strip(), **kwargs)
    elif scheme == "replay":
        from brickfield.llm.replay import ReplayChatModel

        if not rest.strip():
            raise LLMConfigError("replay: needs a transcript path or a cache directory")
        model = ReplayChatModel(rest.strip(), **kwargs)
    else:
        raise LLMConfigError(f"unknown model scheme {scheme!r}; choose one of {SCHEMES}")
    if record is not None:
        from brickfield.llm.replay import RecordingChatModel

        return RecordingChatModel(model, record)
    return model
