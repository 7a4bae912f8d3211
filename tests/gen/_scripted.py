"""A scripted stand-in for a causal LM: it strongly prefers the tokens that continue a chosen answer.

It speaks the same interface the decoder uses (``forward(input_ids, cache=..., use_cache,
logits_to_keep)`` filling a real ``DynamicCache``), so cache crops and rewinds are the real ones. The
script maps (answer generated so far, number of rewinds seen) to the full answer it wants; when the
answer is complete it prefers EOS.
"""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import torch
from transformers import LlamaConfig

from brickfield.gen.vocab import token_texts

Script = Callable[[str, int], str]


class ScriptedLM(torch.nn.Module):
    """Logits: ``strength`` on the longest token continuing the scripted answer, 0 elsewhere."""

    def __init__(self, tokenizer: Any, script: Script, strength: float = 30.0) -> None:
        super().__init__()
        self.config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=8, num_hidden_layers=1,
                                  num_attention_heads=1, num_key_value_heads=1)
        self.anchor = torch.nn.Parameter(torch.zeros(1))  # gives the session a device
        self.texts = token_texts(tokenizer)
        self.eos = tokenizer.eos_token_id
        self.script = script
        self.strength = strength
        self.seq: list[int] = []
        self.prompt_len: int | None = None
        self.rewinds = 0
        self.forwards = 0

    def generated(self) -> str:
        return "".join(self.texts[t] or "" for t in self.seq[self.prompt_len:])

    def forward(self, input_ids: torch.Tensor, cache: Any = None, use_cache: bool = True,
                logits_to_keep: int = 0, **_: Any) -> SimpleNamespace:
        self.forwards += 1
        past = cache.get_seq_length()
        if past < len(self.seq):
            self.rewinds += 1
        del self.seq[past:]
        new = input_ids[0].tolist()
        self.seq.extend(new)
        if self.prompt_len is None:
            self.prompt_len = len(new)
        kv = torch.zeros(1, 1, len(new), 8)
        cache.update(kv, kv, 0)
        logits = torch.zeros(len(self.texts))
        done = self.generated()
        want = self.script(done, self.rewinds)
        rest = want[len(done):] if want.startswith(done) else None
        if rest == "":
            logits[self.eos] = self.strength
        elif rest:
            best = max((i for i, t in enumerate(self.texts) if t and rest.startswith(t)),
                       key=lambda i: len(self.texts[i]), default=None)
            if best is not None:
                logits[best] = self.strength
        return SimpleNamespace(logits=logits.view(1, 1, -1))
