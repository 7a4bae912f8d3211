"""Offline test models: the real Llama-3 tokenizer (from the llama-models wheel) and tiny random Llamas.

Nothing here touches a model hub. `llama3_tokenizer()` converts the tiktoken BPE shipped in
`llama_models/llama3/tokenizer.model` (128,256 tokens) once per process (~1.5 s) and sets a small Llama-3
style chat template; `tiny_llama(tokenizer)` builds a seeded random LlamaForCausalLM over that vocabulary.
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path
from typing import Any

from brickfield.llm.errors import LLMConfigError

# The split pattern and special tokens of llama_models.llama3.tokenizer.Tokenizer (restated: importing it
# would pull in llama-models' own dependencies).
LLAMA3_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
                  r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
_NAMED_SPECIALS = ["<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>",
                   "<|reserved_special_token_1|>", "<|finetune_right_pad_id|>", "<|step_id|>",
                   "<|start_header_id|>", "<|end_header_id|>", "<|eom_id|>", "<|eot_id|>", "<|python_tag|>",
                   "<|image|>"]
LLAMA3_SPECIALS = _NAMED_SPECIALS + [f"<|reserved_special_token_{2 + i}|>"
                                     for i in range(256 - len(_NAMED_SPECIALS))]
# A minimal Llama-3 chat format (no date/tool preamble); transformers trims it for continue_final_message.
LLAMA3_CHAT_TEMPLATE = (
    "{{ bos_token }}{% for m in messages %}<|start_header_id|>{{ m['role'] }}<|end_header_id|>\n\n"
    "{{ m['content'] }}<|eot_id|>{% endfor %}"
    "{% if add_generation_prompt %}<|start_header_id|>assistant<|end_header_id|>\n\n{% endif %}")


def llama_models_tokenizer_file() -> Path:
    """Path of the Llama-3 tiktoken file inside the installed llama-models wheel."""
    spec = importlib.util.find_spec("llama_models")
    if spec is None or not spec.submodule_search_locations:
        raise LLMConfigError("the llama-models package is not installed (pip install llama-models --no-deps)")
    path = Path(next(iter(spec.submodule_search_locations))) / "llama3" / "tokenizer.model"
    if not path.is_file():
        raise LLMConfigError(f"{path} is missing from the llama-models package")
    return path


@functools.lru_cache(maxsize=1)
def _converted_llama3() -> Any:
    from transformers.convert_slow_tokenizer import TikTokenConverter

    return TikTokenConverter(vocab_file=str(llama_models_tokenizer_file()), pattern=LLAMA3_PATTERN,
                             extra_special_tokens=LLAMA3_SPECIALS).converted()


def llama3_tokenizer() -> Any:
    """A fresh `PreTrainedTokenizerFast` with the real Llama-3 vocabulary, eos ``<|eot_id|>`` and a chat
    template (the BPE conversion is done once per process)."""
    from transformers import PreTrainedTokenizerFast

    # The wrapper copies the backend tokenizer, so the cached conversion is never shared or mutated.
    tok = PreTrainedTokenizerFast(tokenizer_object=_converted_llama3(),
                                  bos_token="<|begin_of_text|>", eos_token="<|eot_id|>",
                                  pad_token="<|finetune_right_pad_id|>")
    tok.chat_template = LLAMA3_CHAT_TEMPLATE
    return tok


def tiny_llama(tokenizer: Any, *, seed: int = 0, hidden_size: int = 32, num_layers: int = 2,
               max_positions: int = 2048) -> Any:
    """A random LlamaForCausalLM over `tokenizer`'s vocabulary (deterministic for a given seed)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=hidden_size,
                         intermediate_size=2 * hidden_size, num_hidden_layers=num_layers,
                         num_attention_heads=4, num_key_value_heads=2,
                         max_position_embeddings=max_positions, bos_token_id=tokenizer.bos_token_id,
                         eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = LlamaForCausalLM(config)
    return model.eval()
