"""Record every call to a JSONL transcript, and serve a recorded run back exactly and offline."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from brickfield.core.errors import ParseError
from brickfield.core.jsonl import read_jsonl
from brickfield.llm.base import check_request
from brickfield.llm.cache import RequestCache, transcript_record
from brickfield.llm.errors import LLMConfigError, ReplayMissError
from brickfield.llm.types import ChatModel, ChatRequest, ChatResult
from brickfield.llm.usage import UsageMeter


def read_transcript(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The records of a JSONL transcript ({"key", "model", "request", "result"} per line)."""
    try:
        records = read_jsonl(path, skip_torn_tail=False, what="transcript")
    except ParseError as exc:
        raise LLMConfigError(exc.message) from None
    for number, record in enumerate(records, start=1):
        if not isinstance(record, dict) or not {"key", "result"} <= record.keys():
            raise LLMConfigError(f"{path}: record {number}: a transcript record needs 'key' and 'result'")
    return records


class RecordingChatModel:
    """Wraps any chat model and appends each request and its result to a JSONL transcript.

    The transcript replays through `ReplayChatModel`. Records are keyed with the inner model's name, so a
    replay answers exactly the requests the recorded run made. Failed calls are not recorded.
    """

    def __init__(self, inner: ChatModel, path: str | os.PathLike[str]) -> None:
        self.inner = inner
        self.name = inner.name
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    @property
    def usage(self) -> UsageMeter | None:
        """The inner model's usage meter, when it has one."""
        return getattr(self.inner, "usage", None)

    def complete(self, request: ChatRequest) -> ChatResult:
        """Answer through the inner model and record the exchange."""
        result = self.inner.complete(check_request(request))
        self.record(request, result)
        return result

    async def acomplete(self, request: ChatRequest) -> ChatResult:
        """Async `complete`."""
        result = await self.inner.acomplete(check_request(request))
        self.record(request, result)
        return result

    def record(self, request: ChatRequest, result: ChatResult) -> None:
        """Append one record (thread-safe; each line is flushed whole)."""
        line = json.dumps(transcript_record(request.key(self.name), self.name, request, result),
                          ensure_ascii=False)
        with self._lock, open(self.path, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")

    def close(self) -> None:
        """Close the inner model when it can be closed."""
        close = getattr(self.inner, "close", None)
        if callable(close):
            close()


class ReplayChatModel:
    """Serves recorded results: from a JSONL transcript, a `RequestCache` directory, or a list of records.

    A request is looked up by `request.key(model)` for each model name found in the records (or only the
    `model` given). When one request was recorded several times, the recorded results are served in order
    (the last one repeats), which reproduces a run that asked the same thing twice. A request that was
    never recorded raises ReplayMissError naming its key.
    """

    def __init__(self, source: str | os.PathLike[str] | RequestCache | Iterable[dict[str, Any]], *,
                 model: str | None = None) -> None:
        records, label = self._load(source)
        self._results: dict[str, list[ChatResult]] = {}
        self._served: dict[str, int] = {}
        models: list[str] = []
        for record in records:
            self._results.setdefault(str(record["key"]), []).append(ChatResult.from_dict(record["result"]))
            m = record.get("model")
            if isinstance(m, str) and m not in models:
                models.append(m)
        self.models = [model] if model else models
        self.name = self.models[0] if len(self.models) == 1 else f"replay:{label}"
        self.usage = UsageMeter()
        self._lock = threading.Lock()

    @staticmethod
    def _load(source: Any) -> tuple[list[dict[str, Any]], str]:
        if isinstance(source, RequestCache):
            return list(source.records()), str(source.directory)
        if isinstance(source, (str, os.PathLike)):
            path = Path(source)
            if path.is_dir():
                return list(RequestCache(path).records()), str(path)
            return read_transcript(path), str(path)
        records = list(source)
        if not all(isinstance(r, dict) and {"key", "result"} <= r.keys() for r in records):
            raise LLMConfigError("replay records need 'key' and 'result'")
        return records, "records"

    def __len__(self) -> int:
        return len(self._results)

    def lookup(self, request: ChatRequest) -> ChatResult:
        """The next recorded result for `request`, marked cached; ReplayMissError when there is none."""
        request = check_request(request)
        keys = [request.key(m) for m in self.models] or [request.key(self.name)]
        with self._lock:
            for key in keys:
                results = self._results.get(key)
                if results:
                    index = self._served.get(key, 0)
                    self._served[key] = index + 1
                    result = results[min(index, len(results) - 1)]
                    break
            else:
                label = self.models[0] if self.models else self.name
                raise ReplayMissError(keys[0], f"request {keys[0]} (model {label}) is not in the transcript")
        result = ChatResult(result.completions, result.usage, result.model, result.seconds, cached=True)
        self.usage.add_result(result)
        return result

    def complete(self, request: ChatRequest) -> ChatResult:
        """Serve the recorded result."""
        return self.lookup(request)

    async def acomplete(self, request: ChatRequest) -> ChatResult:
        """Async `complete` (no I/O: the transcript is in memory)."""
        return self.lookup(request)

    def close(self) -> None:
        """Nothing to release."""
