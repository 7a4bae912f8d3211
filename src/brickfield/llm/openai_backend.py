"""OpenAI-compatible endpoint backend (OpenAI, vLLM, SGLang, ...) on the `openai` SDK's AsyncOpenAI.

The SDK's own retries are switched off (``max_retries=0``) so that this layer alone decides: it honours
Retry-After on 429/5xx, backs off on 5xx, timeouts, dropped connections and malformed bodies, and never
retries 400/422. Every attempt shares one concurrency cap per model object.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from dataclasses import dataclass, replace
from typing import Any, Literal

import openai

from brickfield.llm.base import BaseChatModel, LoopThread
from brickfield.llm.cache import RequestCache
from brickfield.llm.dialects import build_params, normalize_dialect
from brickfield.llm.errors import (
    LLMConfigError,
    LLMConnectionError,
    LLMError,
    LLMRequestError,
    LLMResponseError,
    LLMServerError,
    LLMTimeoutError,
)
from brickfield.llm.retry import RetryPolicy, parse_retry_after
from brickfield.llm.types import ChatRequest, ChatResult, Completion, Usage
from brickfield.llm.usage import Price, resolve_price, with_cost

log = logging.getLogger(__name__)

NMode = Literal["auto", "native", "fanout"]
DEFAULT_BASE_URL = "https://api.openai.com/v1"


@dataclass(frozen=True)
class _Reply:
    completions: tuple[Completion, ...]
    usage: Usage
    model: str


class _MalformedBody(Exception):
    """A 200 response whose body is not a usable chat completion (retried like a transient fault)."""


def _error_message(body: Any, fallback: str) -> str:
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict) and isinstance(err.get("message"), str):
            return err["message"]
        if isinstance(err, str):
            return err
    return fallback


def parse_chat_body(content: bytes, n: int, model: str) -> _Reply:
    """Turn a /chat/completions response body into completions; `_MalformedBody` when it is not one."""
    try:
        data = json.loads(content)
    except ValueError as exc:
        raise _MalformedBody(f"response body is not JSON ({len(content)} bytes): {exc}") from None
    if not isinstance(data, dict):
        raise _MalformedBody("response body is not a JSON object")
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices:
        raise _MalformedBody(f"response has no choices ({_error_message(data, 'empty choices')})")
    texts: list[tuple[int, str, str | None]] = []
    for pos, choice in enumerate(choices):
        message = choice.get("message") if isinstance(choice, dict) else None
        if not isinstance(message, dict):
            raise _MalformedBody(f"choice {pos} has no message")
        content_text = message.get("content")
        if content_text is None:
            content_text = ""  # e.g. a refusal or a reasoning-only turn: an empty completion, not an error
        if not isinstance(content_text, str):
            raise _MalformedBody(f"choice {pos} content is not a string")
        index = choice.get("index", pos)
        texts.append((index if isinstance(index, int) else pos, content_text, choice.get("finish_reason")))
    texts.sort(key=lambda t: t[0])
    texts = texts[:n]
    raw_usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
    prompt_tokens = _as_int(raw_usage.get("prompt_tokens"))
    completion_tokens = _as_int(raw_usage.get("completion_tokens"))
    # Servers report one total for n > 1; split it evenly so per-completion counts still sum to the total.
    count = len(texts)
    shares = [completion_tokens // count + (i < completion_tokens % count) for i in range(count)]
    comps = tuple(Completion(text, finish, share)
                  for (_, text, finish), share in zip(texts, shares, strict=True))
    return _Reply(comps, Usage(prompt_tokens, completion_tokens), str(data.get("model") or model))


def _as_int(value: Any) -> int:
    return value if isinstance(value, int) and value >= 0 else 0


class OpenAIChatModel(BaseChatModel):
    """Chat completions from an OpenAI-compatible endpoint.

    `model`, `base_url` and `api_key` default to OPENAI_MODEL, OPENAI_BASE_URL and OPENAI_API_KEY (a key
    of "EMPTY" is sent when none is set, as self-hosted servers expect). `dialect` picks the structured-output
    fields (see `brickfield.llm.dialects`). `concurrency` caps simultaneous HTTP requests; `timeout` is
    per attempt. `n_mode`: "auto" asks for n and, when the server returns fewer choices, fetches the rest as
    single requests with distinct seeds (and remembers that this server ignores n); "fanout" always does
    that; "native" trusts the server. With a `cache`, every fanned-out sample is cached on its own, so a
    failed call keeps its finished samples.
    """

    def __init__(self, model: str | None = None, *, base_url: str | None = None, api_key: str | None = None,
                 dialect: str = "openai", concurrency: int = 8, timeout: float = 60.0,
                 retry: RetryPolicy | None = None, n_mode: NMode = "auto",
                 cache: RequestCache | str | os.PathLike[str] | None = None,
                 price: Price | tuple[float, float] | None = None, extra_body: dict[str, Any] | None = None,
                 default_headers: dict[str, str] | None = None) -> None:
        model = model or os.environ.get("OPENAI_MODEL")
        if not model:
            raise LLMConfigError("no model given (pass model= or set OPENAI_MODEL)")
        if concurrency < 1 or timeout <= 0:
            raise LLMConfigError("concurrency must be >= 1 and timeout > 0")
        if n_mode not in ("auto", "native", "fanout"):
            raise LLMConfigError(f"n_mode must be auto, native or fanout, got {n_mode!r}")
        super().__init__(model, cache=cache)
        self.model = model
        self.base_url = (base_url or os.environ.get("OPENAI_BASE_URL") or os.environ.get("OPENAI_API_BASE")
                         or DEFAULT_BASE_URL)
        self.api_key = api_key or os.environ.get("OPENAI_API_KEY") or "EMPTY"
        self.dialect = normalize_dialect(dialect)
        self.concurrency = concurrency
        self.timeout = float(timeout)
        self.retry = retry or RetryPolicy()
        self.n_mode: NMode = n_mode
        self.price = resolve_price(model, price)
        self.extra_body = dict(extra_body or {})
        self.default_headers = dict(default_headers or {})
        self.server_ignores_n = False
        self._runner = LoopThread(f"brickfield-llm-{model}")
        self._client: openai.AsyncOpenAI | None = None
        self._semaphore: asyncio.Semaphore | None = None
        self._client_loop: asyncio.AbstractEventLoop | None = None

    # -- sync/async entry points: all I/O runs on the private loop -------------------------------------
    def _complete_live(self, request: ChatRequest) -> ChatResult:
        return self._runner.run(self._live(request))

    async def _acomplete_live(self, request: ChatRequest) -> ChatResult:
        return await self._runner.arun(self._live(request))

    def close(self) -> None:
        """Close the HTTP client and stop the private loop (reopened on the next call)."""
        client, loop = self._client, self._client_loop
        self._client = self._semaphore = self._client_loop = None
        if client is not None and self._runner.owns(loop):  # else its loop is gone and took the sockets
            with contextlib.suppress(RuntimeError):
                self._runner.run(client.close())
        self._runner.close()

    def _http(self) -> tuple[openai.AsyncOpenAI, asyncio.Semaphore]:
        # The client's connections and the semaphore belong to one loop; a restarted private loop (after
        # close() or a fork) gets fresh ones.
        loop = asyncio.get_running_loop()
        if self._client is None or self._semaphore is None or self._client_loop is not loop:
            self._client_loop = loop
            self._client = openai.AsyncOpenAI(api_key=self.api_key, base_url=self.base_url,
                                              timeout=self.timeout, max_retries=0,
                                              default_headers=self.default_headers or None)
            self._semaphore = asyncio.Semaphore(self.concurrency)
        return self._client, self._semaphore

    # -- one logical call ---------------------------------------------------------------------------------
    async def _live(self, request: ChatRequest) -> ChatResult:
        start = time.monotonic()
        fan_out = self.n_mode == "fanout" or (self.n_mode == "auto" and self.server_ignores_n)
        have: list[Completion] = []
        usage = Usage()
        model = self.model
        if request.n == 1 or not fan_out:
            reply = await self._call(request)
            have, usage, model = list(reply.completions), reply.usage, reply.model
            if len(have) < request.n and self.n_mode == "auto":
                log.info("%s returned %d of n=%d choices; fanning out from now on",
                         self.base_url, len(have), request.n)
                self.server_ignores_n = True
                if len(have) == 1 and request.seed is not None:
                    # The server answered "n=1 with this seed", which is exactly fan-out sample 0.
                    first = self._sub_request(request, 0)
                    self.cache_store(first, self._result([have[0]], usage, model, time.monotonic() - start))
            if len(have) >= request.n or self.n_mode == "native":
                return self._result(have, usage, model, time.monotonic() - start)
        extra, extra_usage = await self._fan_out(request, have, usage, start)
        return self._result(have + extra, usage + extra_usage, model, time.monotonic() - start)

    def _result(self, comps: list[Completion], usage: Usage, model: str, seconds: float) -> ChatResult:
        return ChatResult(tuple(comps), with_cost(usage, self.price), model, seconds)

    def _sub_request(self, request: ChatRequest, index: int) -> ChatRequest:
        """Sample `index` of a fanned-out request: n=1, its own seed (derived from the key if unseeded)."""
        base = request.seed if request.seed is not None else int(request.key(self.name)[:8], 16) & 0x7FFFFFFF
        return replace(request, n=1, seed=base + index)

    async def _fan_out(self, request: ChatRequest, have: list[Completion], usage: Usage,
                       start: float) -> tuple[list[Completion], Usage]:
        subs = [self._sub_request(request, i) for i in range(len(have), request.n)]
        outcomes = await asyncio.gather(*(self._one_sample(s) for s in subs), return_exceptions=True)
        done = [o for o in outcomes if isinstance(o, ChatResult)]
        extra = [c for r in done for c in r.completions[:1]]
        extra_usage = sum((r.usage for r in done if not r.cached), Usage())
        failures = [o for o in outcomes if isinstance(o, BaseException)]
        if failures:
            first = failures[0]
            if not isinstance(first, LLMError):
                raise first
            partial = self._result(have + extra, usage + extra_usage, self.model, time.monotonic() - start)
            first.partial = partial
            first.message += f" ({len(failures)} of {len(subs)} fanned-out samples failed)"
            first.args = (first.message,)
            raise first
        return extra, extra_usage

    async def _one_sample(self, sub: ChatRequest) -> ChatResult:
        hit = self.cache_lookup(sub)
        if hit is not None:
            return hit
        t0 = time.monotonic()
        reply = await self._call(sub)
        result = self._result(list(reply.completions[:1]), reply.usage, reply.model, time.monotonic() - t0)
        self.cache_store(sub, result)
        return result

    # -- one HTTP request with retries --------------------------------------------------------------------
    async def _call(self, request: ChatRequest) -> _Reply:
        params = build_params(request, self.model, self.dialect, extra_body=self.extra_body)
        policy = self.retry
        started = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            self.usage.add_attempt(retry=attempt > 1)
            timeout = self.timeout
            if policy.deadline is not None:
                timeout = max(min(timeout, policy.deadline - (time.monotonic() - started)), 0.001)
            try:
                return await self._attempt(params, request.n, timeout)
            except openai.APIStatusError as exc:
                failure, delay = self._status_failure(exc, attempt)
            except openai.APITimeoutError:
                failure, delay = LLMTimeoutError(f"no answer within {timeout:g} s"), None
            except openai.APIConnectionError as exc:
                cause = exc.__cause__ or exc
                failure = LLMConnectionError(f"connection failed: {type(cause).__name__}: {cause}")
                delay = None
            except _MalformedBody as exc:
                failure, delay = LLMResponseError(str(exc)), None
            except openai.OpenAIError as exc:  # anything else the SDK raises: report it, typed
                raise LLMResponseError(f"{type(exc).__name__}: {exc}", attempts=attempt) from exc
            failure.attempts = attempt
            if delay is None:
                delay = policy.backoff(attempt)
            elapsed = time.monotonic() - started
            if attempt >= policy.max_attempts or (policy.deadline is not None
                                                   and elapsed + delay >= policy.deadline):
                raise failure
            log.info("attempt %d failed (%s); retrying in %.3f s", attempt, failure.message, delay)
            await asyncio.sleep(delay)

    async def _attempt(self, params: dict[str, Any], n: int, timeout: float) -> _Reply:
        client, semaphore = self._http()
        async with semaphore:
            raw = await client.chat.completions.with_raw_response.create(**params, timeout=timeout)
        log.debug("x-request-id: %s", raw.http_response.headers.get("x-request-id"))
        return parse_chat_body(raw.http_response.content, n, self.model)

    def _status_failure(self, exc: openai.APIStatusError, attempt: int) -> tuple[LLMError, float | None]:
        """Classify an HTTP error: raise at once when it must not be retried, else (error, wait or None)."""
        status = exc.status_code
        message = _error_message(exc.body, str(exc))
        if not self.retry.retryable_status(status):
            raise LLMRequestError(message, status=status, body=exc.body, attempts=attempt) from None
        wait = parse_retry_after(exc.response.headers)
        if wait is not None and wait > self.retry.max_retry_after:
            cap = self.retry.max_retry_after
            raise LLMServerError(f"{message} (Retry-After {wait:g} s is over the {cap:g} s cap)",
                                 status=status, body=exc.body, attempts=attempt) from None
        return LLMServerError(message, status=status, body=exc.body), wait
