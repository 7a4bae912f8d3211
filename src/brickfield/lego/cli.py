"""`brickfield lego ...`: check structures, score them against a target, export LDraw."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from brickfield.core.cliutil import EXIT_FAIL, EXIT_OK, fail_unreadable, read_input, run_batch, write_output
from brickfield.core.errors import ParseError
from brickfield.lego.evaluate import evaluate_text
from brickfield.lego.ldraw import to_ldr
from brickfield.lego.rewards import DEFAULT_LAMBDA, pvpo_details
from brickfield.lego.textformat import parse_structure, parse_text
from brickfield.lego.voxels import MAX_ALIGN

app = typer.Typer(no_args_is_help=True, add_completion=False)


def _check_fields(text: str) -> dict[str, Any]:
    ev = evaluate_text(text)
    stab = ev.details["stability"] or {}
    return {"valid": ev.valid, "stable": ev.details["stable"], "scores": ev.details["scores"],
            "reasons": ev.details["reasons"], "errors": ev.errors,
            "seconds": ev.timings["stability_s"], "status": stab.get("status")}


def _print_table(ev_dict: dict[str, Any], title: str) -> None:
    console = Console()
    table = Table(title=title)
    for col in ("#", "line", "brick", "score", "reasons"):
        table.add_column(col, justify="right" if col in ("#", "line", "score") else "left")
    rows = zip(ev_dict["bricks"], ev_dict["lines"], ev_dict["scores"], ev_dict["reasons"], strict=True)
    for i, (brick, line, score, reasons) in enumerate(rows):
        s = "-" if score is None else f"{score:.3f}"
        style = "red" if reasons or (score is not None and score >= 1) else None
        table.add_row(str(i), str(line or ""), brick or "(malformed)", s, ", ".join(reasons) or "ok",
                      style=style)
    console.print(table)
    verdict = "VALID" if ev_dict["valid"] else "INVALID"
    verdict += " and STABLE" if ev_dict["stable"] else " and UNSTABLE"
    colour = "green" if ev_dict["valid"] and ev_dict["stable"] else "red"
    console.print(f"[bold {colour}]{verdict}[/]  max score "
                  f"{ev_dict['metrics'].get('max_score', float('nan')):.3f}, "
                  f"stability {ev_dict['timing']['stability_s'] * 1000:.1f} ms")
    for err in ev_dict["errors"]:
        console.print(f"  - {err}")


@app.command()
def check(
    file: str = typer.Argument(None, help="Brick text file, or - for stdin."),
    as_json: bool = typer.Option(False, "--json", help="Print the Evaluation as JSON."),
    batch: str = typer.Option(None, "--batch", help="JSONL of {\"id\", \"bricks\"} records (or -)."),
    out: Path = typer.Option(None, "--out", help="With --batch: write results here instead of stdout."),
) -> None:
    """Check a brick structure: per-brick validity and stability. Exit 0 valid and stable, 1 invalid
    or unstable, 2 unreadable input."""
    if batch is not None:
        def handle(rec: dict[str, Any]) -> dict[str, Any]:
            bricks = rec.get("bricks")
            if not isinstance(bricks, str):
                raise ParseError("bad_record", "'bricks' must be a string of brick lines")
            return _check_fields(bricks)

        run_batch(batch, out, handle, "structures")
        raise typer.Exit(EXIT_OK)
    if file is None:
        raise typer.BadParameter("give FILE (or - for stdin), or --batch IN.jsonl")
    try:
        ev = evaluate_text(read_input(file))
    except ParseError as err:
        raise fail_unreadable(err, as_json) from None
    d = ev.to_dict()
    if not d["bricks"]:
        raise fail_unreadable(ParseError("no_bricks", "no brick lines found"), as_json)
    if as_json:
        typer.echo(json.dumps(d))
    else:
        _print_table(d, file)
    raise typer.Exit(EXIT_OK if ev.valid and d["stable"] else EXIT_FAIL)


@app.command()
def score(
    file: str = typer.Argument(..., help="Candidate brick text file, or -."),
    target: str = typer.Option(..., "--target", help="Reference brick text file."),
    lam: float = typer.Option(DEFAULT_LAMBDA, "--lam", help="PVPO weight of the voxel reward."),
    align: int = typer.Option(0, "--align", min=0, max=MAX_ALIGN,
                              help=f"Search integer shifts up to this many cells (at most {MAX_ALIGN})."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Geometric metrics (IoU, voxel distance, F-score) and PVPO rewards against a target."""
    try:
        cand = parse_text(read_input(file))
        ref = parse_structure(read_input(target))
    except ParseError as err:
        raise fail_unreadable(err, as_json) from None
    if not 0.0 <= lam <= 1.0:
        raise typer.BadParameter("--lam must be in [0, 1]")
    res = pvpo_details(cand, ref, lam, align=align).to_dict()
    if as_json:
        typer.echo(json.dumps(res))
        return
    table = Table(title=f"{Path(file).name} vs {Path(target).name}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    geo = res.get("geometry") or {}
    rows = [("R_phys", res["r_phys"]), ("R_vox", res["r_vox"]), (f"PVPO (λ={lam})", res["reward"]),
            ("IoU", geo.get("iou")), ("voxel distance", geo.get("distance")),
            ("F-score", geo.get("fscore")), ("shift", geo.get("shift"))]
    for name, val in rows:
        table.add_row(name, f"{val:.4f}" if isinstance(val, float) else str(val))
    Console().print(table)


@app.command("to-ldr")
def to_ldr_cmd(
    file: str = typer.Argument(..., help="Brick text file, or -."),
    color: int = typer.Option(115, "--color", help="LDraw colour code."),
    out: Path = typer.Option(None, "--out"),
) -> None:
    """Export to LDraw (.ldr) with BrickGPT's mapping, one `0 STEP` per brick."""
    try:
        structure = parse_structure(read_input(file))
        text = to_ldr(structure, color=color)
    except ParseError as err:
        raise fail_unreadable(err, False) from None
    except ValueError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(EXIT_FAIL) from None
    if out:
        write_output(out, text)
    else:
        typer.echo(text, nl=False)


