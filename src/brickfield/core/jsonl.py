"""Reading JSONL files written by runs (transcripts, batch outputs): one JSON object per line."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from brickfield.core.errors import ParseError

__all__ = ["read_jsonl"]


def read_jsonl(path: str | os.PathLike[str], *, skip_torn_tail: bool = True, what: str = "file") -> list[Any]:
    """The values of the non-blank lines of ``path``.

    A last line that is not JSON is the torn write of a killed run: it is skipped when
    ``skip_torn_tail`` (finished lines are never lost), else reported. Raises ``ParseError`` with code
    ``unreadable`` (the file) or ``bad_json`` (a line, with its number)."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ParseError("unreadable", f"cannot read {what} {path}: {exc}") from None
    out = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            out.append(json.loads(line))
        except (ValueError, RecursionError) as exc:
            if skip_torn_tail and number == len(lines):
                break
            raise ParseError("bad_json", f"{path}:{number}: not a JSON line ({exc})", line=number) from None
    return out
