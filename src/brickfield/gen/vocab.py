"""The text each token of a Hugging Face tokenizer stands for, whatever its space convention.

Token strings in a vocabulary are not text: byte-level BPE writes a space as ``Ġ`` and a newline as
``Ċ``, SentencePiece writes a space as ``▁`` and bytes as ``<0x0A>``, tiktoken-converted vocabularies
use the byte-level alphabet. Rather than re-implementing each convention, the tokenizer's own decoder
says what a token means: ``decode([anchor, t])`` minus ``decode([anchor])``. The anchor in front
stops decoders that strip one leading space (SentencePiece's ``Strip``) from eating the token's own
space. With a fast tokenizer the whole vocabulary goes through the Rust ``decode_batch`` at once
(~0.2-0.3 s for 128k-152k tokens); the transformers-level ``decode`` is avoided on purpose because
its ``clean_up_tokenization_spaces`` rewrites `` ,`` into ``,``.
"""

from __future__ import annotations

from typing import Any

from brickfield.gen.errors import GenerationError


def _anchor(tokenizer: Any) -> int:
    """A token that decodes to a plain ASCII letter on its own."""
    for probe in ("a", "x", "The", "0"):
        ids = tokenizer.encode(probe, add_special_tokens=False)
        if ids:
            return int(ids[-1])
    raise GenerationError("bad_tokenizer", "the tokenizer encodes no plain text")


def _backend(tokenizer: Any) -> Any | None:
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None and hasattr(backend, "decode_batch"):
        return backend
    return None


def token_texts(tokenizer: Any) -> list[str | None]:
    """Per token id (``0 .. len(tokenizer)-1``), the text it adds when decoded after other text.

    None for a token whose text cannot be isolated (it changes the anchor's decoding, e.g. a lone
    byte of a multi-byte character).
    """
    n = len(tokenizer)
    anchor = _anchor(tokenizer)
    backend = _backend(tokenizer)
    if backend is not None:
        head = backend.decode([anchor], skip_special_tokens=False)
        texts = backend.decode_batch([[anchor, i] for i in range(n)], skip_special_tokens=False)
    else:  # a slow tokenizer: one call per token
        def dec(ids: list[int]) -> str:
            return tokenizer.decode(ids, skip_special_tokens=False, clean_up_tokenization_spaces=False)

        head = dec([anchor])
        texts = [dec([anchor, i]) for i in range(n)]
    return [t[len(head):] if t.startswith(head) else None for t in texts]


def special_ids(tokenizer: Any) -> set[int]:
    """Ids of the tokenizer's special and added control tokens (never part of a brick line)."""
    ids = set(getattr(tokenizer, "all_special_ids", ()) or ())
    added = getattr(tokenizer, "added_tokens_decoder", None) or {}
    ids.update(i for i, tok in added.items() if getattr(tok, "special", False))
    return {int(i) for i in ids if i is not None}


def eos_ids(tokenizer: Any, model: Any | None = None) -> tuple[int, ...]:
    """Every id that ends an answer: the tokenizer's EOS plus the model's generation-config EOS
    (chat models often end a turn with a different token, e.g. Llama-3's ``<|eot_id|>``)."""
    found: list[int] = []

    def add(value: Any) -> None:
        if value is None:
            return
        for v in value if isinstance(value, (list, tuple, set)) else (value,):
            if int(v) not in found:
                found.append(int(v))

    add(getattr(tokenizer, "eos_token_id", None))
    gen_cfg = getattr(model, "generation_config", None)
    add(getattr(gen_cfg, "eos_token_id", None))
    if not found:
        raise GenerationError("no_eos", "the tokenizer and model define no EOS token")
    return tuple(found)
