"""Fixtures for the chat-model tests: a fake OpenAI server, a fast retry policy, a tiny offline HF model."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from brickfield.llm import OpenAIChatModel, RetryPolicy
from tests.llm.fake_server import FakeChatServer

# Small waits so fault tests stay fast; Retry-After values in tests are far above these, so a measured gap
# between attempts can only come from honouring the header.
FAST_RETRY = RetryPolicy(max_attempts=4, backoff_base=0.005, backoff_max=0.02, jitter=0.0)
TIMEOUT_S = 0.3


@pytest.fixture
def server() -> Iterator[FakeChatServer]:
    """A running fake server (honours n)."""
    with FakeChatServer() as srv:
        yield srv


@pytest.fixture
def client_factory(server: FakeChatServer) -> Iterator[Callable[..., OpenAIChatModel]]:
    """Build OpenAIChatModels pointed at `server` with fast retries; closes them afterwards."""
    made: list[OpenAIChatModel] = []

    def make(**kwargs: Any) -> OpenAIChatModel:
        kwargs.setdefault("base_url", server.url)
        kwargs.setdefault("api_key", "sk-test")
        kwargs.setdefault("retry", FAST_RETRY)
        kwargs.setdefault("timeout", TIMEOUT_S)
        model = OpenAIChatModel(kwargs.pop("model", "fake-model"), **kwargs)
        made.append(model)
        return model

    yield make
    for model in made:
        model.close()


@pytest.fixture
def client(client_factory: Callable[..., OpenAIChatModel]) -> OpenAIChatModel:
    """One client on the fake server (dialect openai, n_mode auto)."""
    return client_factory()


@pytest.fixture(scope="session")
def tiny_hf() -> tuple[Any, Any]:
    """(model, tokenizer): a random 2-layer Llama over the real Llama-3 vocabulary, built offline."""
    from brickfield.llm.tiny import llama3_tokenizer, tiny_llama

    tokenizer = llama3_tokenizer()
    return tiny_llama(tokenizer, seed=0), tokenizer
