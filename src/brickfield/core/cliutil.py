"""Helpers shared by the domain CLIs: reading FILE|-, JSON options, exit codes, the never-a-traceback
guard and the JSONL batch runner (one record envelope for every batch command, ``docs/cli_records.md``).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import typer
from typer.core import TyperGroup
from typer.exceptions import Abort, Exit, TyperException

from brickfield.core.errors import ParseError
from brickfield.core.textio import DEFAULT_MAX_BYTES, ensure_text

__all__ = ["EXIT_FAIL", "EXIT_OK", "EXIT_UNREADABLE", "EXIT_USAGE", "BatchItem", "BatchSummary",
           "GuardedGroup", "Job", "check_inputs", "error_dict", "exit_for_status", "fail_unreadable",
           "parse_json_option", "read_input", "run_batch", "run_evaluation_batch", "run_guarded",
           "usage_error", "write_output"]

EXIT_OK = 0
EXIT_FAIL = 1
EXIT_UNREADABLE = 2
EXIT_USAGE = 2

STATUS_EXIT: dict[str, int] = {"ok": EXIT_OK, "invalid": EXIT_FAIL, "unparseable": EXIT_UNREADABLE,
                               "refused": EXIT_UNREADABLE, "error": EXIT_UNREADABLE}
"""Exit code of a single-answer command by ``Evaluation.status``: a design verdict is 0/1, an answer
that was not evaluated (or an evaluator failure) is 2."""


def exit_for_status(status: str) -> int:
    """The exit code of an evaluation status (see ``STATUS_EXIT``)."""
    return STATUS_EXIT.get(status, EXIT_UNREADABLE)


# --- errors and the guard ----------------------------------------------------------------------------

def error_dict(err: ParseError) -> dict[str, Any]:
    """``{"code", "message", ...}`` of a parse error, without empty fields (issues only when several)."""
    d = {k: v for k, v in err.to_dict().items() if v is not None and k != "issues"}
    if len(err.issues) > 1:
        d["issues"] = [{k: v for k, v in i.to_dict().items() if v is not None} for i in err.issues]
    return d


def _os_error(code: str, verb: str, path: str | Path, exc: OSError) -> ParseError:
    return ParseError(code, f"cannot {verb} {path}: {exc.strerror or exc}")


def fail_unreadable(err: ParseError, as_json: bool) -> typer.Exit:
    """Print an input/output error (``{"error": {...}}`` on stdout with ``--json``, else text on stderr)
    and return the exit (code 2) to raise."""
    if as_json:
        typer.echo(json.dumps({"error": error_dict(err)}))
    else:
        typer.echo(f"error: {err}", err=True)
    return typer.Exit(EXIT_UNREADABLE)


def usage_error(message: str) -> typer.Exit:
    """Print ``error: message`` on stderr and return the usage-error exit (code 2) to raise.

    Used instead of ``typer.BadParameter`` where the message is long (a list of known levels) and
    must reach the user unwrapped."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(EXIT_USAGE)


class GuardedGroup(TyperGroup):
    """A command group that turns any unexpected exception of a command into ``error: <type>: <message>``
    on stderr and exit code 2, never a traceback. Click's own exits and usage errors pass through."""

    def invoke(self, ctx: Any) -> Any:
        """Run the command, reporting unexpected exceptions as one line."""
        try:
            return super().invoke(ctx)
        except (Exit, Abort, TyperException):  # exits, usage errors (typer vendors click since 0.26)
            raise
        except BrokenPipeError:  # the reader went away (`| head`): nothing to say, nowhere to say it
            _quiet_broken_pipe()
        except Exception as exc:  # the last line of defence: a bug must not print a traceback
            typer.echo(f"error: {type(exc).__name__}: {exc}", err=True)
            raise typer.Exit(EXIT_UNREADABLE) from None


def run_guarded(app: Callable[[], Any]) -> None:
    """Call a Typer ``app`` as a console script: unexpected exceptions (outside any command, where
    :class:`GuardedGroup` does not reach) print one line and exit 2."""
    try:
        app()
    except SystemExit:
        raise
    except BrokenPipeError:
        _quiet_broken_pipe()
    except Exception as exc:
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        sys.exit(EXIT_UNREADABLE)


def _quiet_broken_pipe() -> None:
    """Exit quietly after the output pipe closed (Python's documented recipe: point stdout at devnull
    so the interpreter's final flush does not raise again)."""
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    sys.exit(1)


# --- input and output --------------------------------------------------------------------------------

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


def check_inputs(file: str | None, batch: str | None, *, out: Path | None = None, workers: int = 1,
                 resume: bool = False) -> None:
    """One FILE or one ``--batch``, and the batch-only options only with ``--batch`` (usage error, exit 2)."""
    if batch is None and file is None:
        raise usage_error("give FILE (or - for stdin), or --batch IN.jsonl")
    if batch is not None and file is not None:
        raise usage_error("give FILE or --batch IN.jsonl, not both")
    if batch is None and (out is not None or workers != 1 or resume):
        raise usage_error("--out, --workers and --resume apply to --batch")


def parse_json_option(value: str, option: str) -> Any:
    """The JSON value of an option given as JSON text or ``@FILE``; a usage error (exit 2) otherwise."""
    text = value
    if value.startswith("@"):
        try:
            text = read_input(value[1:])
        except ParseError as err:
            raise usage_error(f"{option}: {err}") from None
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise usage_error(f"{option}: invalid JSON: {exc}"[:500]) from None


# --- JSONL batches -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class BatchItem:
    """One non-blank input line: its JSON object, or the error that makes it unusable."""

    line: int
    id: Any
    record: dict[str, Any] | None
    error: dict[str, Any] | None = None

    @property
    def key(self) -> str:
        """Identity for ``--resume``: the id, or the line number for records without one."""
        return json.dumps(["id", self.id] if self.id is not None else ["line", self.line], sort_keys=True)


@dataclass(frozen=True)
class Job:
    """What a command made of a usable record: the answer text and the task it is evaluated on
    (``task`` is None for checks that take no task)."""

    text: str
    task: Any = None


@dataclass
class BatchSummary:
    """Counts of one batch run (written records by status; ``error`` counts error records)."""

    total: int = 0
    skipped: int = 0
    counts: dict[str, int] = field(default_factory=dict)

    def line(self) -> str:
        """One human line, e.g. ``12 records: 10 ok, 1 invalid, 1 error; 3 skipped (--resume)``."""
        parts = ", ".join(f"{n} {k}" for k, n in sorted(self.counts.items()))
        done = sum(self.counts.values())
        return f"{done} records" + (f": {parts}" if parts else "") + (
            f"; {self.skipped} already in --out (skipped)" if self.skipped else "")


def _read_items(path: str, max_line_bytes: int = DEFAULT_MAX_BYTES) -> list[BatchItem]:
    """Every non-blank line of a JSONL file (or stdin) as a :class:`BatchItem`; an unreadable file
    exits 2."""
    try:
        source: TextIO = sys.stdin if path == "-" else open(path, encoding="utf-8", errors="replace")  # noqa: SIM115
    except OSError as exc:
        raise fail_unreadable(_os_error("unreadable", "read", path, exc), False) from None
    items: list[BatchItem] = []
    try:
        for lineno, line in enumerate(source, 1):
            if line.strip():
                items.append(_item(lineno, line, max_line_bytes))
    except OSError as exc:
        raise fail_unreadable(_os_error("unreadable", "read", path, exc), False) from None
    finally:
        if source is not sys.stdin:
            source.close()
    return items


def _item(lineno: int, line: str, max_line_bytes: int) -> BatchItem:
    def bad(code: str, message: str) -> BatchItem:
        return BatchItem(lineno, None, None, {"code": code, "message": message})

    if len(line) > max_line_bytes:
        return bad("too_large", f"line over {max_line_bytes} bytes")
    try:
        obj = json.loads(line)
    except (json.JSONDecodeError, RecursionError) as exc:
        return bad("bad_json", f"invalid JSON: {exc}"[:200])
    if not isinstance(obj, dict):
        return bad("bad_record", "each line must be a JSON object")
    return BatchItem(lineno, obj.get("id"), obj)


def _done_keys(out: Path) -> set[str]:
    """Keys of the records already in ``out`` (``--resume``); a partial last line (a killed run) is cut
    off so appending continues on a clean line."""
    try:
        with open(out, "rb+") as fh:
            data = fh.read()
            if data and not data.endswith(b"\n"):
                fh.truncate(data.rfind(b"\n") + 1)
                data = data[: data.rfind(b"\n") + 1]
    except FileNotFoundError:
        return set()
    except OSError as exc:
        raise fail_unreadable(_os_error("unreadable", "read", out, exc), False) from None
    keys = set()
    for raw in data.decode("utf-8", errors="replace").splitlines():
        try:
            rec = json.loads(raw)
        except (json.JSONDecodeError, RecursionError):
            continue
        if isinstance(rec, dict) and "line" in rec:
            keys.add(BatchItem(rec["line"], rec.get("id"), None).key)
    return keys


class _OrderedSink:
    """Writes envelopes in input order as they arrive (out-of-order ones wait in a buffer), flushing
    each line so a killed run keeps everything finished before it; drives the progress bar."""

    def __init__(self, out: Path | None, append: bool, total: int, label: str) -> None:
        from rich.console import Console
        from rich.progress import Progress

        try:
            self.fh: TextIO = open(out, "a" if append else "w", encoding="utf-8") if out else sys.stdout  # noqa: SIM115
        except OSError as exc:
            raise fail_unreadable(_os_error("unwritable", "write", out or "-", exc), False) from None
        self.out = out
        self.next = 0
        self.pending: dict[int, dict[str, Any]] = {}
        self.summary = BatchSummary()
        self.progress = Progress(console=Console(stderr=True), transient=True,
                                 disable=not (out is not None and sys.stderr.isatty()))
        self.progress.start()
        self.bar = self.progress.add_task(f"{label}", total=total)

    def put(self, slot: int, record: dict[str, Any]) -> None:
        self.pending[slot] = record
        while self.next in self.pending:
            rec = self.pending.pop(self.next)
            self.fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
            self.fh.flush()
            status = "error" if "error" in rec else (rec.get("evaluation") or {}).get("status") or (
                "valid" if (rec.get("report") or {}).get("valid") else "invalid")
            self.summary.counts[status] = self.summary.counts.get(status, 0) + 1
            self.progress.advance(self.bar)
            self.next += 1

    def close(self) -> None:
        self.progress.stop()
        if self.out is not None:
            self.fh.close()


Prepare = Callable[[dict[str, Any]], Job]
Execute = Callable[[list[Job], Callable[[int, dict[str, Any]], None]], None]


def run_batch(path: str, out: Path | None, prepare: Prepare, execute: Execute, *, resume: bool = False,
              label: str = "records") -> BatchSummary:
    """Run a JSONL batch: ``prepare`` turns each record into a :class:`Job` (raising ``ParseError`` or
    ``TaskSpecError`` for a record it cannot use), ``execute(jobs, emit)`` calls ``emit(i, fields)``
    for every job (any order); one envelope per input line is written in input order:
    ``{"id", "line", **fields}`` or ``{"id", "line", "error"}``.

    ``resume`` appends to ``out``, skipping records whose id (or, without an id, line) it already
    holds. An unreadable input or unwritable ``out`` exits 2."""
    from brickfield.core.task import TaskSpecError

    if resume and out is None:
        raise usage_error("--resume needs --out")
    items = _read_items(path)
    done = _done_keys(out) if resume and out is not None else set()
    todo = [it for it in items if it.key not in done]
    sink = _OrderedSink(out, resume and out is not None and out.exists(), len(todo), label)
    sink.summary.total, sink.summary.skipped = len(items), len(items) - len(todo)
    jobs: list[Job] = []
    slots: list[int] = []
    try:
        for slot, it in enumerate(todo):
            head = {"id": it.id, "line": it.line}
            if it.error is not None or it.record is None:
                sink.put(slot, {**head, "error": it.error})
                continue
            try:
                jobs.append(prepare(it.record))
                slots.append(slot)
            except ParseError as err:
                sink.put(slot, {**head, "error": error_dict(err)})
            except TaskSpecError as err:
                sink.put(slot, {**head, "error": {"code": "bad_task", "message": str(err)}})

        def emit(i: int, fields: dict[str, Any]) -> None:
            it = todo[slots[i]]
            sink.put(slots[i], {"id": it.id, "line": it.line, **fields})

        if jobs:
            execute(jobs, emit)
    finally:
        sink.close()
    return sink.summary


def run_evaluation_batch(path: str, out: Path | None, prepare: Prepare, *, workers: int = 1,
                         resume: bool = False, label: str = "evaluating") -> BatchSummary:
    """:func:`run_batch` through ``core.evaluate_many`` on ``workers`` processes (0: one per CPU);
    fields ``{"task": <task id>, "evaluation": <Evaluation.to_dict()>}``."""
    from brickfield.core.batch import evaluate_many

    def execute(jobs: list[Job], emit: Callable[[int, dict[str, Any]], None]) -> None:
        evaluate_many([(j.text, j.task) for j in jobs], workers=workers,
                      on_result=lambda i, ev: emit(i, {"task": jobs[i].task.id, "evaluation": ev.to_dict()}))

    return run_batch(path, out, prepare, execute, resume=resume, label=label)

