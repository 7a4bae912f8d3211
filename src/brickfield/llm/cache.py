"""Request-hash disk cache: one JSON file per `ChatRequest.key(model)`; a run replays exactly, offline."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from brickfield.llm.errors import LLMConfigError
from brickfield.llm.types import ChatRequest, ChatResult


def transcript_record(key: str, model: str, request: ChatRequest, result: ChatResult) -> dict[str, Any]:
    """The record shape shared by cache files and JSONL transcripts."""
    return {"key": key, "model": model, "request": request.to_dict(), "result": result.to_dict()}


class RequestCache:
    """A directory of ``<key[:2]>/<key>.json`` files, each one transcript record.

    Writes are atomic (temp file + rename), so concurrent writers and a crash mid-write never leave a
    half-written entry; an unreadable entry counts as a miss.
    """

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise LLMConfigError(f"cannot create cache directory {self.directory}: {exc}") from exc

    def path_for(self, key: str) -> Path:
        """Where the entry for `key` lives."""
        if len(key) < 3 or not all(c in "0123456789abcdef" for c in key):
            raise LLMConfigError(f"not a cache key: {key!r}")
        return self.directory / key[:2] / f"{key}.json"

    def get(self, key: str) -> ChatResult | None:
        """The cached result (marked `cached=True`), or None on a miss."""
        record = self.get_record(key)
        if record is None:
            return None
        try:
            return replace(ChatResult.from_dict(record["result"]), cached=True)
        except (LLMConfigError, KeyError, TypeError):
            return None

    def get_record(self, key: str) -> dict[str, Any] | None:
        """The raw record for `key`, or None when missing or unreadable."""
        try:
            record = json.loads(self.path_for(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return record if isinstance(record, dict) and record.get("key") == key else None

    def put(self, key: str, model: str, request: ChatRequest, result: ChatResult) -> Path:
        """Store `result` for `key` (stored with `cached=False`: that flag describes how it was served)."""
        path = self.path_for(key)
        record = transcript_record(key, model, request, replace(result, cached=False))
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(record, fh, ensure_ascii=False)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get_record(key) is not None

    def records(self) -> Iterator[dict[str, Any]]:
        """Every readable record, in key order (deterministic)."""
        for path in sorted(self.directory.glob("??/*.json")):
            record = self.get_record(path.stem)
            if record is not None:
                yield record

    def __len__(self) -> int:
        return sum(1 for _ in self.directory.glob("??/*.json"))

    def export_jsonl(self, path: str | os.PathLike[str]) -> int:
        """Write every record to a JSONL transcript (readable by ReplayChatModel); returns the count."""
        count = 0
        with open(path, "w", encoding="utf-8") as fh:
            for record in self.records():
                fh.write(json.dumps(record, ensure_ascii=False) + "\n")
                count += 1
        return count
