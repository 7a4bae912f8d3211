"""A causal LM with a live KV cache that can be fed one token at a time and cropped back.

Rolling back to an earlier position is ``cache.crop(-n)`` (transformers 5 takes the *negative*
count of tokens to drop; the same call means the same in 4.x), which only trims tensors: no copy of
the cache is ever made. A cache that reports ``is_croppable == False`` (sliding-window or linear-
attention layers) is rebuilt from the kept token ids instead, which is slower but exact.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Sequence
from typing import Any

import torch

from brickfield.gen.errors import GenerationError
from brickfield.gen.stats import GenerationStats


def _forward_kwargs(model: Any) -> tuple[str, bool]:
    """The name of the cache argument (``cache`` since transformers 5.24, ``past_key_values``
    before) and whether the model takes ``logits_to_keep``."""
    params = inspect.signature(model.forward).parameters
    name = "cache" if "cache" in params else "past_key_values"
    return name, "logits_to_keep" in params


def new_cache(model: Any) -> Any:
    """An empty DynamicCache for ``model``."""
    from transformers import DynamicCache

    try:
        return DynamicCache(config=model.config)
    except TypeError:  # older transformers without the config argument
        return DynamicCache()


class ModelSession:
    """Tokens in the cache, the cache, and the logits for the next token.

    Invariant: ``cache`` holds exactly ``tokens`` and ``logits`` predicts the token after them.
    """

    def __init__(self, model: Any, prompt: Sequence[int], stats: GenerationStats) -> None:
        if not prompt:
            raise GenerationError("empty_prompt", "the prompt has no tokens")
        self.model = model
        self.stats = stats
        self.device = next(model.parameters()).device
        self._cache_kw, self._keep = _forward_kwargs(model)
        self.tokens: list[int] = []
        self.cache = new_cache(model)
        self.logits = self._forward(list(prompt))
        self.tokens = list(prompt)

    def __len__(self) -> int:
        return len(self.tokens)

    def _forward(self, ids: list[int]) -> torch.Tensor:
        t0 = time.perf_counter()
        kwargs: dict[str, Any] = {self._cache_kw: self.cache, "use_cache": True}
        if self._keep:
            kwargs["logits_to_keep"] = 1
        with torch.no_grad():
            out = self.model(input_ids=torch.tensor([ids], device=self.device), **kwargs)
        logits = out.logits[0, -1].float()
        self.stats.model_seconds += time.perf_counter() - t0
        self.stats.forward_passes += 1
        return logits

    def feed(self, token: int) -> None:
        """Append ``token`` and compute the logits after it."""
        self.logits = self._forward([token])
        self.tokens.append(token)

    def crop(self, length: int) -> None:
        """Drop every token after the first ``length`` (``logits`` is then stale: the caller either
        has the logits of that position saved or calls :meth:`rewind`)."""
        drop = len(self.tokens) - length
        if drop <= 0:
            return
        if getattr(self.cache, "is_croppable", True):
            self.cache.crop(-drop)
            del self.tokens[length:]
        else:  # rebuild from the kept ids (exact, one prefill)
            kept = self.tokens[:length]
            self.cache = new_cache(self.model)
            self.tokens = []
            if kept:
                self.logits = self._forward(kept)
                self.tokens = kept

    def rewind(self, length: int) -> None:
        """Go back to the first ``length`` tokens with fresh logits (one forward pass: the last kept
        token is cropped and fed again, since logits are not stored per position)."""
        if length < 1 or length > len(self.tokens):
            raise GenerationError("bad_rewind", f"cannot rewind to {length} of {len(self.tokens)} tokens")
        last = self.tokens[length - 1]
        self.crop(length - 1)
        self.feed(last)
