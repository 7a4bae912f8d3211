"""The chat-model protocol: one request type, one result type, and the `ChatModel` seam backends fill."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from brickfield.llm.errors import LLMConfigError

StructuredKind = Literal["regex", "ebnf", "json_schema"]
_KINDS = ("regex", "ebnf", "json_schema")
# Bumped when the key recipe changes, so old cache entries stop matching instead of matching wrongly.
_KEY_VERSION = 1


@dataclass(frozen=True)
class StructuredOutput:
    """A constraint on the completion text: a regex, an EBNF/GBNF grammar, or a JSON schema."""

    kind: StructuredKind
    value: str | dict

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise LLMConfigError(f"structured kind must be one of {_KINDS}, got {self.kind!r}")
        if self.kind == "json_schema":
            if not isinstance(self.value, (str, dict)):
                raise LLMConfigError("a json_schema constraint needs a dict or a JSON string")
        elif not isinstance(self.value, str) or not self.value:
            raise LLMConfigError(f"a {self.kind} constraint needs a non-empty string")

    def schema(self) -> dict:
        """The JSON schema as a dict (parsed when it was given as text)."""
        if self.kind != "json_schema":
            raise LLMConfigError(f"a {self.kind} constraint has no JSON schema")
        if isinstance(self.value, dict):
            return self.value
        try:
            parsed = json.loads(self.value)
        except json.JSONDecodeError as exc:
            raise LLMConfigError(f"json_schema value is not valid JSON: {exc}") from exc
        if not isinstance(parsed, dict):
            raise LLMConfigError("json_schema value must be a JSON object")
        return parsed

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable record."""
        return {"kind": self.kind, "value": self.value}

    def __hash__(self) -> int:  # the value may be a dict, which the generated hash cannot take
        return hash(json.dumps(self.to_dict(), sort_keys=True))


def _freeze_messages(messages: Iterable[Mapping[str, Any]]) -> tuple[dict[str, Any], ...]:
    if isinstance(messages, (str, bytes)) or not isinstance(messages, Iterable):
        raise LLMConfigError("messages must be a sequence of {'role', 'content'} mappings")
    out = []
    for i, msg in enumerate(messages):
        if not isinstance(msg, Mapping) or not isinstance(msg.get("role"), str) or "content" not in msg:
            raise LLMConfigError(f"message {i} needs a string 'role' and a 'content'")
        out.append(dict(msg))  # a private copy: callers mutating their list must not change the key
    if not out:
        raise LLMConfigError("a chat request needs at least one message")
    return tuple(out)


@dataclass(frozen=True)
class ChatRequest:
    """One chat call: OpenAI-style messages in, `n` completions out.

    `continue_final=True` means the last message is an assistant prefix that the model continues instead of
    starting a new turn. `key(model)` is a stable hash used by the disk cache and transcripts.
    """

    messages: tuple[dict[str, str], ...]
    n: int = 1
    temperature: float = 0.7
    top_p: float = 1.0
    max_tokens: int = 1024
    seed: int | None = None
    stop: tuple[str, ...] = ()
    structured: StructuredOutput | None = None
    continue_final: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "messages", _freeze_messages(self.messages))
        stop = (self.stop,) if isinstance(self.stop, str) else tuple(self.stop)
        object.__setattr__(self, "stop", stop)
        if not isinstance(self.n, int) or isinstance(self.n, bool) or self.n < 1:
            raise LLMConfigError(f"n must be a positive integer, got {self.n!r}")
        if not isinstance(self.max_tokens, int) or self.max_tokens < 1:
            raise LLMConfigError(f"max_tokens must be a positive integer, got {self.max_tokens!r}")
        if not (isinstance(self.temperature, (int, float)) and math.isfinite(self.temperature)
                and self.temperature >= 0):
            raise LLMConfigError(f"temperature must be a finite number >= 0, got {self.temperature!r}")
        if not (isinstance(self.top_p, (int, float)) and 0 < self.top_p <= 1):
            raise LLMConfigError(f"top_p must be in (0, 1], got {self.top_p!r}")
        if self.seed is not None and (not isinstance(self.seed, int) or isinstance(self.seed, bool)):
            raise LLMConfigError(f"seed must be an integer or None, got {self.seed!r}")
        if not all(isinstance(s, str) and s for s in stop):
            raise LLMConfigError("stop strings must be non-empty strings")
        if self.structured is not None and not isinstance(self.structured, StructuredOutput):
            raise LLMConfigError("structured must be a StructuredOutput or None")
        if self.continue_final and self.messages[-1].get("role") != "assistant":
            raise LLMConfigError("continue_final needs an assistant message last")

    @classmethod
    def from_prompt(cls, prompt: str, *, system: str | None = None, **kwargs: Any) -> ChatRequest:
        """A one-turn request: an optional system message and one user message."""
        messages = ([{"role": "system", "content": system}] if system else []) + [
            {"role": "user", "content": prompt}]
        return cls(messages=tuple(messages), **kwargs)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable record (round-trips through `from_dict`)."""
        return {"messages": [dict(m) for m in self.messages], "n": self.n, "temperature": self.temperature,
                "top_p": self.top_p, "max_tokens": self.max_tokens, "seed": self.seed,
                "stop": list(self.stop),
                "structured": self.structured.to_dict() if self.structured else None,
                "continue_final": self.continue_final}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ChatRequest:
        """Inverse of `to_dict`."""
        try:
            s = d.get("structured")
            return cls(messages=tuple(d["messages"]), n=d.get("n", 1), temperature=d.get("temperature", 0.7),
                       top_p=d.get("top_p", 1.0), max_tokens=d.get("max_tokens", 1024), seed=d.get("seed"),
                       stop=tuple(d.get("stop", ())),
                       structured=StructuredOutput(s["kind"], s["value"]) if s else None,
                       continue_final=bool(d.get("continue_final", False)))
        except (KeyError, TypeError, AttributeError) as exc:
            raise LLMConfigError(f"malformed chat request record: {exc!r}") from exc

    def __hash__(self) -> int:  # messages are dicts, which the generated hash cannot take
        return hash(self.key(""))

    def key(self, model: str) -> str:
        """Stable sha256 (hex) of this request and the model id; equal requests give equal keys."""
        payload = {"v": _KEY_VERSION, "model": model, "request": self.to_dict()}
        text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Completion:
    """One sampled completion. `finish_reason` is "stop", "length" or whatever the server said."""

    text: str
    finish_reason: str | None = None
    completion_tokens: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable record."""
        return {"text": self.text, "finish_reason": self.finish_reason,
                "completion_tokens": self.completion_tokens}


@dataclass(frozen=True)
class Usage:
    """Tokens spent by one call (the prompt counted once, even for n > 1) and its cost in USD."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0

    @property
    def total_tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(self.prompt_tokens + other.prompt_tokens,
                     self.completion_tokens + other.completion_tokens, self.cost_usd + other.cost_usd)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable record."""
        return {"prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens,
                "cost_usd": self.cost_usd}


@dataclass(frozen=True)
class ChatResult:
    """The answer to one `ChatRequest`: its completions, tokens, model id and wall time.

    `cached=True` when it came from a disk cache or transcript; `seconds` is then the original call's time.
    """

    completions: tuple[Completion, ...]
    usage: Usage = field(default_factory=Usage)
    model: str = ""
    seconds: float = 0.0
    cached: bool = False

    @property
    def texts(self) -> list[str]:
        """The completion texts in order."""
        return [c.text for c in self.completions]

    @property
    def text(self) -> str:
        """The first completion's text (the usual n = 1 case)."""
        return self.completions[0].text if self.completions else ""

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable record (round-trips through `from_dict`)."""
        return {"completions": [c.to_dict() for c in self.completions], "usage": self.usage.to_dict(),
                "model": self.model, "seconds": self.seconds, "cached": self.cached}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ChatResult:
        """Inverse of `to_dict`; raises LLMConfigError on a malformed record."""
        try:
            comps = tuple(Completion(str(c["text"]), c.get("finish_reason"),
                                     int(c.get("completion_tokens", 0))) for c in d["completions"])
            u = d.get("usage") or {}
            usage = Usage(int(u.get("prompt_tokens", 0)), int(u.get("completion_tokens", 0)),
                          float(u.get("cost_usd", 0.0)))
            return cls(comps, usage, str(d.get("model", "")), float(d.get("seconds", 0.0)),
                       bool(d.get("cached", False)))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise LLMConfigError(f"malformed chat result record: {exc!r}") from exc


@runtime_checkable
class ChatModel(Protocol):
    """Anything that answers chat requests, synchronously and asynchronously."""

    name: str

    def complete(self, request: ChatRequest) -> ChatResult:
        """Answer one request (blocking; safe to call inside a running event loop)."""
        ...

    async def acomplete(self, request: ChatRequest) -> ChatResult:
        """Answer one request without blocking the event loop."""
        ...
