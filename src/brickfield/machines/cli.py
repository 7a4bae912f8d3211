"""`brickfield machine ...`: commands for Besiege-style machines (one function per command)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from brickfield.core.cliutil import (
    EXIT_FAIL,
    EXIT_OK,
    EXIT_UNREADABLE,
    fail_unreadable,
    read_input,
    run_batch,
)
from brickfield.core.errors import ParseError
from brickfield.machines.catalog import BLOCKS
from brickfield.machines.tree import TreeCode
from brickfield.machines.validity import ValidityReport, check_machine

app = typer.Typer(no_args_is_help=True, add_completion=False)

# Issue codes meaning "no construction tree could be read at all" (exit 2, not 1).
_UNREADABLE = {TreeCode.BAD_TYPE, TreeCode.TOO_LARGE, TreeCode.TOO_DEEP, TreeCode.TOO_MANY_BLOCKS,
               TreeCode.BAD_JSON, TreeCode.EMPTY}


def _unreadable(report: ValidityReport) -> bool:
    """True when the text held no readable block list (as opposed to an invalid one)."""
    return (not report.file_valid and len(report.issues) == 1 and report.issues[0].code in _UNREADABLE
            and report.issues[0].item is None)


def _fmt(v: Any) -> str:
    return "(" + ", ".join(f"{c:g}" for c in v) + ")"


def _print_report(report: ValidityReport, title: str) -> None:
    console = Console()
    if report.machine is not None and report.tree is not None:
        table = Table(title=title)
        for col in ("#", "order", "type", "attached to (block:point)", "facing", "position", "note"):
            table.add_column(col, justify="right" if col in ("#", "order") else "left")
        for b, tb in zip(report.machine.blocks, report.tree.blocks, strict=True):
            name = f"{b.type_id} {BLOCKS[b.type_id].name}"
            attached = ", ".join(f"{p}:{k}" for p, k in report.tree.attachments(b.index)) or "-"
            pos = _fmt(b.position) + (f" -> {_fmt(b.position_b)}" if b.position_b is not None else "")
            note = "flipped" if b.flipped else ""
            table.add_row(str(b.index), str(tb.order_id), name, attached, b.facing, pos, note)
        console.print(table)
        length, width, height = report.machine.size
        console.print(f"size {length:.2f} (z) x {width:.2f} (x) x {height:.2f} (y), "
                      f"global position {_fmt(report.machine.global_position)}")
    verdict = "VALID" if report.valid else ("INVALID (spatial)" if report.file_valid else "INVALID (file)")
    console.print(f"[bold {'green' if report.valid else 'red'}]{verdict}[/]")
    for err in report.errors:
        console.print("  - " + err.rstrip("\n").replace("\n", "\n    "), markup=False)
    for warn in report.warnings:
        console.print(f"  warning: {warn}", markup=False)


@app.command()
def check(
    file: str = typer.Argument(None, help="Construction-tree file (JSON or LLM text), or - for stdin."),
    as_json: bool = typer.Option(False, "--json", help="Print the validity report as JSON."),
    strict: bool = typer.Option(False, "--strict", help="Fixed reading of the rules instead of "
                                "reproducing the reference's quirks (docs/machines_validity.md)."),
    batch: str = typer.Option(None, "--batch", help="JSONL of {\"id\", \"tree\"} records (or -)."),
    out: Path = typer.Option(None, "--out", help="With --batch: write results here instead of stdout."),
) -> None:
    """Check a machine's file and spatial validity. Exit 0 valid, 1 invalid, 2 unreadable input."""
    quirks = not strict
    if batch is not None:
        def handle(rec: dict[str, Any]) -> dict[str, Any]:
            tree = rec.get("tree")
            if not isinstance(tree, (list, str)):
                raise ParseError("bad_record", "'tree' must be a JSON list or a string")
            return check_machine(tree, reference_quirks=quirks).to_dict()

        run_batch(batch, out, handle, "machines")
        raise typer.Exit(EXIT_OK)
    if file is None:
        raise typer.BadParameter("give FILE (or - for stdin), or --batch IN.jsonl")
    try:
        text = read_input(file)
    except ParseError as err:
        raise fail_unreadable(err, as_json) from None
    report = check_machine(text, reference_quirks=quirks)
    if as_json:
        typer.echo(json.dumps(report.to_dict()))
    else:
        _print_report(report, file)
    if _unreadable(report):
        raise typer.Exit(EXIT_UNREADABLE)
    raise typer.Exit(EXIT_OK if report.valid else EXIT_FAIL)
