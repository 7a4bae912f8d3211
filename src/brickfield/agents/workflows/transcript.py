"""The run transcript: one JSON object per line, written (and flushed) as each step finishes.

Every record has ``event`` and ``t`` (seconds since the run started). Events:

* ``run_start``: workflow, task (``TaskSpec.to_dict()``), model, config;
* ``chat``: one model call: ``role``, ``path`` (where in the run), ``key``/``model``/``request``/
  ``result`` (the ``brickfield.llm`` transcript record: messages, completions, tokens), ``seconds``;
* ``chat_error``: a call that failed after the client's retries (``error_type``, ``message``);
* ``parse``: what was read from a completion (``kind``: tree, edits, query, issues, blueprint;
  ``ok``, ``errors``, and the design/edits/query read);
* ``evaluation``: ``path``, ``evaluation`` (``Evaluation.to_dict()``), ``simulated``;
* ``feedback`` / ``query``: what the refiner is told, the querier's request and its answer;
* ``search``: one search iteration (selected node, expanded, children, backed-up value);
* ``step``: a finished stage with its wall time, calls, simulations and tokens;
* ``run_end``: the ``WorkflowResult.to_dict()``.

The ``chat`` records double as a ``brickfield.llm`` replay source: ``replay_model(path)`` serves
them back through ``ReplayChatModel``, so a run is reproduced with no model at hand.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any, TextIO

from brickfield.core.errors import ParseError
from brickfield.core.evaluation import jsonable
from brickfield.core.jsonl import read_jsonl
from brickfield.llm import LLMConfigError, ReplayChatModel, read_transcript
from brickfield.llm.cache import RequestCache

__all__ = ["Transcript", "chat_records", "read_events", "replay_model"]


class Transcript:
    """Append-only JSONL writer (thread-safe); ``path=None`` keeps the events in memory only.

    ``observer(record)`` sees every record as it is written (progress displays)."""

    def __init__(self, path: str | os.PathLike[str] | None = None, *, observer: Any = None) -> None:
        self.path = Path(path) if path is not None else None
        self.events: list[dict[str, Any]] = []
        self.observer = observer
        self._lock = threading.Lock()
        self._t0 = time.monotonic()
        self._fh: TextIO | None = None
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = open(self.path, "w", encoding="utf-8")  # noqa: SIM115 - closed in close()

    def write(self, event: str, **fields: Any) -> dict[str, Any]:
        """Record one event (flushed at once, so a crash loses no finished step)."""
        record = jsonable({"event": event, "t": round(time.monotonic() - self._t0, 4), **fields})
        line = json.dumps(record, ensure_ascii=False)
        with self._lock:
            self.events.append(record)
            if self._fh is not None:
                self._fh.write(line + "\n")
                self._fh.flush()
        if self.observer is not None:
            self.observer(record)
        return record

    def close(self) -> None:
        """Close the file (idempotent)."""
        with self._lock:
            if self._fh is not None:
                self._fh.close()
                self._fh = None

    def __enter__(self) -> Transcript:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_events(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The records of a run transcript (a truncated last line, from a killed run, is skipped)."""
    try:
        return [r for r in read_jsonl(path, what="transcript") if isinstance(r, dict)]
    except ParseError as exc:
        raise LLMConfigError(exc.message) from None


def chat_records(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The ``brickfield.llm`` transcript records (key, model, request, result) of the chat events."""
    return [{k: e[k] for k in ("key", "model", "request", "result")}
            for e in events if e.get("event") == "chat" and {"key", "result"} <= e.keys()]


def replay_model(source: str | os.PathLike[str], *, model: str | None = None) -> ReplayChatModel:
    """A model that answers from a recording: a run transcript (this module's format), a
    ``brickfield.llm`` JSONL transcript, or a ``RequestCache`` directory."""
    path = Path(source)
    if path.is_dir():
        return ReplayChatModel(RequestCache(path), model=model)
    events = read_events(path)
    if any(e.get("event") == "run_start" for e in events):
        return ReplayChatModel(chat_records(events), model=model)
    return ReplayChatModel(read_transcript(path), model=model)
