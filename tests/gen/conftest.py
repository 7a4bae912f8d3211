"""Fixtures for the generation tests: real and trained tokenizers, each with a tiny random Llama.

Torch runs single-threaded here: the per-token work is tiny, and on a shared 2-core machine torch's
thread pool makes every small op wait on the other worker (an 8 ms vector add instead of 70 us).
"""

from __future__ import annotations

from typing import Any

import pytest
import torch

from brickfield.gen.assets import llama3_tokenizer, qwen_tokenizer, tiny_llama
from tests.gen._tokenizers import train_bpe

torch.set_num_threads(1)

#: Every tokenizer the acceptance tests run with.
TOKENIZERS = ("llama3", "qwen", "bytelevel", "metaspace", "plain")

_TOKENIZERS: dict[str, Any] = {}
_MODELS: dict[str, Any] = {}


def get_tokenizer(name: str) -> Any:
    """A tokenizer by name, built once per test process."""
    if name not in _TOKENIZERS:
        if name == "llama3":
            _TOKENIZERS[name] = llama3_tokenizer()
        elif name == "qwen":
            _TOKENIZERS[name] = qwen_tokenizer()
        else:
            _TOKENIZERS[name] = train_bpe(name)
    return _TOKENIZERS[name]


def get_model(name: str) -> Any:
    """A tiny random Llama (hidden 32, 2 layers) over that tokenizer's vocabulary."""
    if name not in _MODELS:
        _MODELS[name] = tiny_llama(len(get_tokenizer(name)), hidden=32, layers=2, seed=0)
    return _MODELS[name]


@pytest.fixture(params=TOKENIZERS)
def tok_name(request: pytest.FixtureRequest) -> str:
    """Each tokenizer name in turn."""
    return request.param


@pytest.fixture
def tokenizer(tok_name: str) -> Any:
    """The tokenizer called ``tok_name``."""
    return get_tokenizer(tok_name)


@pytest.fixture
def model(tok_name: str) -> Any:
    """The tiny model for ``tok_name``."""
    return get_model(tok_name)
