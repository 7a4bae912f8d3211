"""What every backend shares: the disk cache, the usage meter, and sync/async bridging."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from brickfield.llm.cache import RequestCache
from brickfield.llm.errors import LLMConfigError, LLMError
from brickfield.llm.types import ChatRequest, ChatResult
from brickfield.llm.usage import UsageMeter

T = TypeVar("T")


class LoopThread:
    """A private event loop running in a daemon thread, started on first use.

    Async-native backends run all their I/O here, so one HTTP client and one concurrency cap serve every
    caller: plain sync code, code inside someone else's running loop, and several loops at once.
    """

    def __init__(self, name: str = "brickfield-llm") -> None:
        self._name = name
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()

    def loop(self) -> asyncio.AbstractEventLoop:
        """The private loop (started when needed, and again in a forked child, where the thread is gone)."""
        with self._lock:
            stale = (self._loop is None or self._loop.is_closed() or self._pid != os.getpid()
                     or self._thread is None or not self._thread.is_alive())
            if stale:
                self._pid = os.getpid()
                loop = asyncio.new_event_loop()
                ready = threading.Event()

                def _serve() -> None:
                    asyncio.set_event_loop(loop)
                    loop.call_soon(ready.set)
                    loop.run_forever()

                self._thread = threading.Thread(target=_serve, name=self._name, daemon=True)
                self._thread.start()
                ready.wait()
                self._loop = loop
            return self._loop

    def owns(self, loop: asyncio.AbstractEventLoop | None) -> bool:
        """Whether `loop` is this object's live private loop (in this process)."""
        return (loop is not None and loop is self._loop and not loop.is_closed() and self._pid == os.getpid()
                and self._thread is not None and self._thread.is_alive())

    def _on_own_thread(self) -> bool:
        return self._thread is not None and threading.current_thread() is self._thread

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run `coro` on the private loop and block until it finishes."""
        if self._on_own_thread():
            coro.close()
            raise RuntimeError("LoopThread.run called from its own loop; await the coroutine instead")
        return asyncio.run_coroutine_threadsafe(coro, self.loop()).result()

    async def arun(self, coro: Coroutine[Any, Any, T]) -> T:
        """Await `coro` on the private loop from any other loop (cancellation propagates)."""
        if self._on_own_thread():
            return await coro
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self.loop()))

    def close(self) -> None:
        """Stop the loop and its thread (a later call starts a fresh one)."""
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None or loop.is_closed():
            return
        loop.call_soon_threadsafe(loop.stop)
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)
            if not thread.is_alive():
                loop.close()


def as_cache(cache: RequestCache | str | os.PathLike[str] | None) -> RequestCache | None:
    """Accept a cache object or a directory path."""
    if cache is None or isinstance(cache, RequestCache):
        return cache
    if isinstance(cache, (str, os.PathLike)):
        return RequestCache(cache)
    raise LLMConfigError(f"cache must be a RequestCache, a directory or None, got {type(cache).__name__}")


def check_request(request: object) -> ChatRequest:
    """Refuse anything that is not a ChatRequest with a typed error."""
    if not isinstance(request, ChatRequest):
        raise LLMConfigError(f"expected a ChatRequest, got {type(request).__name__}")
    return request


class BaseChatModel:
    """Cache lookup, usage accounting and error counting around a backend's live call.

    Subclasses implement `_complete_live` (blocking) and `_acomplete_live` (async). Results are cached
    under `request.key(self.name)`.
    """

    name: str

    def __init__(self, name: str, *, cache: RequestCache | str | os.PathLike[str] | None = None) -> None:
        self.name = name
        self.cache = as_cache(cache)
        self.usage = UsageMeter()

    def cache_lookup(self, request: ChatRequest) -> ChatResult | None:
        """The cached result for `request`, or None."""
        if self.cache is None:
            return None
        return self.cache.get(request.key(self.name))

    def cache_store(self, request: ChatRequest, result: ChatResult) -> None:
        """Remember `result` for `request` (no-op without a cache)."""
        if self.cache is not None and result.completions:
            self.cache.put(request.key(self.name), self.name, request, result)

    def complete(self, request: ChatRequest) -> ChatResult:
        """Answer one request, from the cache when it holds the answer."""
        request = check_request(request)
        hit = self.cache_lookup(request)
        if hit is not None:
            self.usage.add_result(hit)
            return hit
        try:
            result = self._complete_live(request)
        except LLMError:
            self.usage.add_error()
            raise
        return self._finish(request, result)

    async def acomplete(self, request: ChatRequest) -> ChatResult:
        """Async `complete`."""
        request = check_request(request)
        hit = self.cache_lookup(request)
        if hit is not None:
            self.usage.add_result(hit)
            return hit
        try:
            result = await self._acomplete_live(request)
        except LLMError:
            self.usage.add_error()
            raise
        return self._finish(request, result)

    def _finish(self, request: ChatRequest, result: ChatResult) -> ChatResult:
        self.cache_store(request, result)
        self.usage.add_result(result)
        return result

    def _complete_live(self, request: ChatRequest) -> ChatResult:
        raise NotImplementedError

    async def _acomplete_live(self, request: ChatRequest) -> ChatResult:
        raise NotImplementedError

    def close(self) -> None:
        """Release resources (threads, connections); the model stays usable and reopens them on demand."""

    def __enter__(self) -> BaseChatModel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"
