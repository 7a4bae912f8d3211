"""Offline tokenizers and tiny models for tests and benchmarks: real vocabularies from PyPI wheels.

Nothing here touches a model hub. The Llama-3 vocabulary comes from the ``llama-models`` wheel and
the Qwen vocabulary from the ``dashscope`` wheel (both tiktoken BPE files, converted with
transformers' ``TikTokenConverter``). The converted ``tokenizer.json`` is cached in the temp
directory, because the conversion takes 3-4 s per vocabulary and every test worker would repeat it.
(:mod:`brickfield.llm.tiny` converts Llama-3 once per process; its pattern, specials and chat
template are reused here.) Real models load with :func:`brickfield.llm.hf_backend.load_hf`.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import tempfile
from pathlib import Path
from typing import Any

from brickfield.gen.errors import GenerationError
from brickfield.llm.tiny import (
    LLAMA3_CHAT_TEMPLATE,
    LLAMA3_PATTERN,
    LLAMA3_SPECIALS,
    llama_models_tokenizer_file,
)

_QWEN_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
                 r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")


def package_folder(name: str) -> Path:
    """The folder of an installed package, found without importing it."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise GenerationError("missing_package", f"package {name!r} is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def _converted(vocab_file: Path, pattern: str, specials: list[str], tag: str) -> Any:
    """A ``tokenizers.Tokenizer`` for a tiktoken file, cached as tokenizer.json by file content."""
    from tokenizers import Tokenizer
    from transformers.convert_slow_tokenizer import TikTokenConverter

    stat = vocab_file.stat()
    key = f"{vocab_file}|{stat.st_size}|{stat.st_mtime_ns}|{specials}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    cache = Path(tempfile.gettempdir()) / "brickfield-tokenizers" / f"{tag}-{digest}.json"
    if cache.exists():
        try:
            return Tokenizer.from_file(str(cache))
        except Exception:  # a torn cache file: rebuild it
            pass
    converter = TikTokenConverter(vocab_file=str(vocab_file), pattern=pattern, extra_special_tokens=specials)
    tok = converter.converted()
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(f".{os.getpid()}.tmp")
    tok.save(str(tmp))
    os.replace(tmp, cache)  # atomic, so parallel test workers never read half a file
    return tok


def llama3_tokenizer(*, chat_template: bool = True) -> Any:
    """The Llama-3 tokenizer (128,256 tokens) from the llama-models wheel; EOS ``<|eot_id|>``, with
    :mod:`brickfield.llm.tiny`'s minimal Llama-3 chat template unless ``chat_template=False``."""
    from transformers import PreTrainedTokenizerFast

    tok = _converted(llama_models_tokenizer_file(), LLAMA3_PATTERN, list(LLAMA3_SPECIALS), "llama3")
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<|begin_of_text|>",
                                   eos_token="<|eot_id|>", pad_token="<|finetune_right_pad_id|>")
    if chat_template:
        fast.chat_template = LLAMA3_CHAT_TEMPLATE
    return fast


def qwen_tokenizer() -> Any:
    """The Qwen tokenizer (151,851 tokens, digits split) from the dashscope wheel; EOS ``<|im_end|>``."""
    from transformers import PreTrainedTokenizerFast

    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"] + [f"<|extra_{i}|>" for i in range(205)]
    vocab = package_folder("dashscope") / "resources" / "qwen.tiktoken"
    tok = _converted(vocab, _QWEN_PATTERN, specials, "qwen")
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>")


def tiny_llama(vocab_size: int, *, hidden: int = 32, layers: int = 2, heads: int = 4, seed: int = 0,
               intermediate: int | None = None, tie: bool = False) -> Any:
    """A random LlamaForCausalLM (eval mode) built from a LlamaConfig; no weights downloaded.
    ``tie`` shares the input embedding with the LM head (as Llama-3.2-1B does)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    cfg = LlamaConfig(vocab_size=vocab_size, hidden_size=hidden, intermediate_size=intermediate or 2 * hidden,
                      num_hidden_layers=layers, num_attention_heads=heads,
                      num_key_value_heads=max(1, heads // 2), max_position_embeddings=8192,
                      tie_word_embeddings=tie)
    with torch.random.fork_rng(devices=[]):  # leave the caller's global RNG alone
        torch.manual_seed(seed)
        model = LlamaForCausalLM(cfg)
    return model.eval()
