"""Token and cost accounting: per-model prices and running totals on each model object."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from brickfield.llm.errors import LLMConfigError
from brickfield.llm.types import ChatResult, Usage


@dataclass(frozen=True)
class Price:
    """USD per million prompt and completion tokens."""

    prompt_per_mtok: float = 0.0
    completion_per_mtok: float = 0.0

    def __post_init__(self) -> None:
        if self.prompt_per_mtok < 0 or self.completion_per_mtok < 0:
            raise LLMConfigError("prices must be >= 0")

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        """Cost in USD of the given token counts."""
        return (prompt_tokens * self.prompt_per_mtok + completion_tokens * self.completion_per_mtok) / 1e6


# Optional table consulted when a model is built without an explicit price; empty by default because list
# prices change and local servers cost nothing. A run script fills it: PRICES["gpt-x"] = Price(0.15, 0.6)
PRICES: dict[str, Price] = {}


def resolve_price(model: str, price: Price | tuple[float, float] | None) -> Price | None:
    """An explicit price, else the `PRICES` entry for `model`, else None (cost stays 0)."""
    if price is None:
        return PRICES.get(model)
    if isinstance(price, Price):
        return price
    try:
        prompt, completion = price
        return Price(float(prompt), float(completion))
    except (TypeError, ValueError) as exc:
        raise LLMConfigError(f"price must be a Price or a (prompt, completion) pair, got {price!r}") from exc


def with_cost(usage: Usage, price: Price | None) -> Usage:
    """`usage` with its cost filled from `price` (unchanged when there is no price)."""
    if price is None:
        return usage
    return Usage(usage.prompt_tokens, usage.completion_tokens,
                 price.cost(usage.prompt_tokens, usage.completion_tokens))


class UsageMeter:
    """Running totals for one model object (thread-safe).

    `calls` counts results produced live (not from the cache); `cache_hits` those served from the cache.
    Tokens, cost and seconds add up live calls only, so they measure what a run actually spent.
    `http_requests` counts every HTTP attempt, retries included; `retries` the attempts after a failure.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Zero every total."""
        with self._lock:
            self.calls = 0
            self.cache_hits = 0
            self.prompt_tokens = 0
            self.completion_tokens = 0
            self.cost_usd = 0.0
            self.seconds = 0.0
            self.http_requests = 0
            self.retries = 0
            self.errors = 0

    def add_result(self, result: ChatResult) -> None:
        """Count one finished call (a cache hit when `result.cached`)."""
        with self._lock:
            if result.cached:
                self.cache_hits += 1
                return
            self.calls += 1
            self.prompt_tokens += result.usage.prompt_tokens
            self.completion_tokens += result.usage.completion_tokens
            self.cost_usd += result.usage.cost_usd
            self.seconds += result.seconds

    def add_attempt(self, *, retry: bool) -> None:
        """Count one HTTP attempt."""
        with self._lock:
            self.http_requests += 1
            self.retries += int(retry)

    def add_error(self) -> None:
        """Count one call that ended in an error."""
        with self._lock:
            self.errors += 1

    def snapshot(self) -> dict[str, Any]:
        """The totals as a plain dict."""
        with self._lock:
            return {"calls": self.calls, "cache_hits": self.cache_hits, "prompt_tokens": self.prompt_tokens,
                    "completion_tokens": self.completion_tokens, "cost_usd": self.cost_usd,
                    "seconds": self.seconds, "http_requests": self.http_requests, "retries": self.retries,
                    "errors": self.errors}

    def __repr__(self) -> str:
        return f"UsageMeter({self.snapshot()})"
