"""Helpers shared by the domain CLIs: reading FILE|-, JSONL batches, error records."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TextIO

import typer

from brickfield.core.errors import ParseError
from brickfield.core.textio import DEFAULT_MAX_BYTES, ensure_text

EXIT_OK = 0
EXIT_FAIL = 1
EXIT_UNREADABLE = 2


def _os_error(code: str, verb: str, path: str | Path, exc: OSError) -> ParseError:
    return ParseError(code, f"cannot {verb} {path}: {exc.strerror or exc}")


def read_input(path: str, max_bytes: int = DEFAULT_MAX_BYTES) -> str:
    """Read FILE or stdin (`-`), refusing more than `max_bytes` without reading it all."""
    try:
        if path == "-":
            data = sys.stdin.buffer.read(max_bytes + 1)
        else:
            with open(path, "rb") as fh:
                data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise _os_error("unreadable", "read", path, exc) from None
    return ensure_text(data, max_bytes, path)


def write_output(path: Path, text: str) -> None:
    """Write `text` to `path`; an unwritable path (a directory, a missing folder) prints an error and
    exits with EXIT_UNREADABLE instead of a traceback."""
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise fail_unreadable(_os_error("unwritable", "write", path, exc), False) from None


def fail_unreadable(err: ParseError, as_json: bool) -> typer.Exit:
    """Print a parse error (as JSON or text on stderr) and return the exit to raise."""
    if as_json:
        typer.echo(json.dumps({"valid": False, "error": err.to_dict()}))
    else:
        typer.echo(f"error: {err}", err=True)
    return typer.Exit(EXIT_UNREADABLE)


def _jsonl_records(fh: TextIO, max_line_bytes: int) -> Iterator[tuple[int, Any]]:
    """Yield (line number, parsed object or ParseError) for each non-blank line of a JSONL stream."""
    for lineno, line in enumerate(fh, 1):
        if not line.strip():
            continue
        if len(line) > max_line_bytes:
            yield lineno, ParseError("too_large", f"line over {max_line_bytes} bytes", line=lineno)
            continue
        try:
            yield lineno, json.loads(line)
        except (json.JSONDecodeError, RecursionError) as exc:
            yield lineno, ParseError("bad_json", f"invalid JSON: {exc}"[:200], line=lineno)


def run_batch(path: str, out: Path | None, handle: Callable[[dict[str, Any]], dict[str, Any]],
              label: str = "records") -> int:
    """Apply `handle` to each JSONL record and write one JSON result per line; bad lines become
    error records. Returns the number of failed records. Shows a progress bar on a terminal.

    An unreadable `path` or unwritable `out` prints an error and exits with EXIT_UNREADABLE."""
    from rich.progress import Progress

    try:
        source: TextIO = sys.stdin if path == "-" else open(path, encoding="utf-8", errors="replace")  # noqa: SIM115
    except OSError as exc:
        raise fail_unreadable(_os_error("unreadable", "read", path, exc), False) from None
    try:
        sink: TextIO = open(out, "w", encoding="utf-8") if out else sys.stdout  # noqa: SIM115
    except OSError as exc:
        if source is not sys.stdin:
            source.close()
        raise fail_unreadable(_os_error("unwritable", "write", out, exc), False) from None
    failures = 0
    show = out is not None and sys.stderr.isatty()
    try:
        with Progress(transient=True, disable=not show) as progress:
            task = progress.add_task(f"checking {label}", total=None)
            for lineno, obj in _jsonl_records(source, DEFAULT_MAX_BYTES):
                rec_id = obj.get("id") if isinstance(obj, dict) else None
                if isinstance(obj, ParseError):
                    result: dict[str, Any] = {"id": None, "line": lineno, "error": obj.to_dict()}
                elif not isinstance(obj, dict):
                    result = {"id": None, "line": lineno,
                              "error": {"code": "bad_record", "message": "each line must be a JSON object"}}
                else:
                    try:
                        result = {"id": rec_id, **handle(obj)}
                    except ParseError as exc:
                        result = {"id": rec_id, "line": lineno, "error": exc.to_dict()}
                if "error" in result:
                    failures += 1
                sink.write(json.dumps(result) + "\n")
                progress.advance(task)
    finally:
        if out:
            sink.close()
        if source is not sys.stdin:
            source.close()
    return failures
