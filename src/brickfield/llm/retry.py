"""Retry policy for HTTP backends: which failures to retry and how long to wait between attempts."""

from __future__ import annotations

import email.utils
import math
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass

from brickfield.llm.errors import LLMConfigError

# 408 request timeout, 409 lock conflict, 429 rate limit: transient by definition; every 5xx is retried too.
RETRYABLE_4XX = frozenset({408, 409, 429})


@dataclass(frozen=True)
class RetryPolicy:
    """How many attempts one request gets and how long to wait between them.

    A Retry-After (or retry-after-ms) header on a retryable response is waited out exactly; a value above
    `max_retry_after` ends the retries at once (waiting minutes inside a batch job is worse than failing).
    Without the header the wait is `backoff_base * 2**(attempt-1)`, capped at `backoff_max`, minus up to
    `jitter` of itself. `deadline` (seconds, optional) bounds one call's attempts and waits together.
    """

    max_attempts: int = 4
    backoff_base: float = 0.5
    backoff_max: float = 8.0
    jitter: float = 0.25
    max_retry_after: float = 120.0
    deadline: float | None = None

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise LLMConfigError("max_attempts must be >= 1")
        if self.backoff_base < 0 or self.backoff_max < 0 or not 0 <= self.jitter <= 1:
            raise LLMConfigError("backoff times must be >= 0 and jitter in [0, 1]")
        if self.max_retry_after < 0 or (self.deadline is not None and self.deadline <= 0):
            raise LLMConfigError("max_retry_after must be >= 0 and deadline > 0")

    def backoff(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based) when the server gave no hint."""
        base = min(self.backoff_base * 2.0 ** min(attempt - 1, 60), self.backoff_max)
        return base * (1.0 - self.jitter * random.random())

    @staticmethod
    def retryable_status(status: int) -> bool:
        """Whether an HTTP status is worth another attempt (400/401/403/404/422... are not)."""
        return status in RETRYABLE_4XX or status >= 500


def parse_retry_after(headers: Mapping[str, str] | None, now: float | None = None) -> float | None:
    """Seconds the server asked us to wait: ``retry-after-ms``, else ``retry-after`` as seconds or an
    HTTP date. None when absent or unreadable; never negative."""
    if not headers:
        return None
    lower = {k.lower(): v for k, v in headers.items()}
    for name, scale in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        raw = lower.get(name)
        if raw is None:
            continue
        try:
            value = float(raw) / scale
        except ValueError:
            continue
        if math.isfinite(value):
            return max(value, 0.0)
        return math.inf
    raw = lower.get("retry-after")
    if raw is None:
        return None
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    return max(when.timestamp() - (time.time() if now is None else now), 0.0)
