"""Typed errors of the chat-model layer. Every failure a model call can meet ends in one of these."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from brickfield.core.errors import BrickfieldError

if TYPE_CHECKING:
    from brickfield.llm.types import ChatResult


class LLMError(BrickfieldError):
    """Base class of every chat-model error.

    `attempts` is how many HTTP attempts were made (0 where none was). `partial` holds the completions that
    did finish when a call fanned out into several requests and some of them failed, so no finished sample
    is lost.
    """

    def __init__(self, message: str, *, attempts: int = 0, partial: ChatResult | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.attempts = attempts
        self.partial = partial


class LLMConfigError(LLMError, ValueError):
    """Bad arguments: an unknown model spec, an invalid request field, a model path that does not load."""


class LLMUnsupportedError(LLMError):
    """The backend or server dialect cannot do what the request asks (e.g. a regex constraint on OpenAI)."""


class LLMRequestError(LLMError):
    """The server refused the request with a non-retryable 4xx status (400, 401, 404, 422, ...)."""

    def __init__(self, message: str, *, status: int, body: Any = None, attempts: int = 1) -> None:
        super().__init__(f"HTTP {status}: {message}", attempts=attempts)
        self.status = status
        self.body = body


class LLMServerError(LLMError):
    """429 / 5xx responses that did not clear within the retry budget (or a Retry-After over the cap)."""

    def __init__(self, message: str, *, status: int, body: Any = None, attempts: int = 1) -> None:
        super().__init__(f"HTTP {status}: {message}", attempts=attempts)
        self.status = status
        self.body = body


class LLMTimeoutError(LLMError):
    """Every attempt timed out (or the per-call deadline passed)."""


class LLMConnectionError(LLMError):
    """The connection failed or was dropped on every attempt (refused, reset, truncated body)."""


class LLMResponseError(LLMError):
    """The server answered 200 but the body was malformed (not JSON, no choices) on every attempt."""


class ReplayMissError(LLMError):
    """A replayed run asked for a request the transcript does not hold; `key` names it."""

    def __init__(self, key: str, message: str | None = None) -> None:
        super().__init__(message or f"request {key} is not in the transcript")
        self.key = key
