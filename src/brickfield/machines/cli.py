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
    write_output,
)
from brickfield.core.errors import ParseError
from brickfield.machines.design.catalog import BLOCKS
from brickfield.machines.design.tree import TreeCode
from brickfield.machines.design.validity import ValidityReport, check_machine

app = typer.Typer(no_args_is_help=True, add_completion=False)


@app.callback()
def _group() -> None:
    """Besiege-style machines: check, simulate, query, export, levels."""

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


# --- export ----------------------------------------------------------------------------------------

def _export_level(spec: str) -> Any:
    """The level named by ``task:N`` (or ``task`` for level 1)."""
    from brickfield.machines.levels.registry import get_level

    task, _, number = spec.partition(":")
    try:
        return get_level(task.strip(), int(number) if number.strip() else 1)
    except (KeyError, ValueError) as exc:
        raise typer.BadParameter(f"{spec!r}: {exc}", param_hint="--level") from None


@app.command()
def export(
    file: str = typer.Argument(..., help="Construction tree (JSON or LLM text) or a .bsg file; - for stdin."),
    fmt: str = typer.Option("bsg", "--format", "-f", help="bsg (Besiege machine file) or mjcf (MuJoCo XML)."),
    out: Path = typer.Option(None, "--out", "-o", help="Write to this file instead of stdout."),
    level: str = typer.Option(None, "--level", help="mjcf only: add this level's ground and obstacles, "
                              "e.g. car:1."),
    name: str = typer.Option(None, "--name", help="Machine name in the .bsg header (default: file name)."),
    strict: bool = typer.Option(False, "--strict", help="Fixed reading of the rules instead of the "
                                "reference's quirks (placement and validity, as in `check --strict`)."),
) -> None:
    """Export a valid machine as a Besiege .bsg file or MuJoCo MJCF.

    Exit 0 written, 1 invalid machine (validity errors on stderr), 2 unreadable input or bad options.
    """
    # Imported here so `check` keeps working (and loading fast) without MuJoCo.
    from brickfield.machines.design.validity import check_tree
    from brickfield.machines.io.bsg import BsgParseError, bsg_to_tree, to_bsg

    fmt = fmt.lower()
    if fmt not in ("bsg", "mjcf"):
        raise typer.BadParameter(f"{fmt!r} is not one of bsg, mjcf", param_hint="--format")
    if level is not None and fmt != "mjcf":
        raise typer.BadParameter("only applies to --format mjcf", param_hint="--level")
    lvl = _export_level(level) if level is not None else None
    try:
        text = read_input(file)
    except ParseError as err:
        raise fail_unreadable(err, False) from None
    quirks = not strict
    if text.lstrip("\ufeff \t\r\n").startswith("<"):  # a .bsg file rather than a tree
        try:
            report = check_tree(bsg_to_tree(text, reference_quirks=quirks), reference_quirks=quirks)
        except BsgParseError as err:
            raise fail_unreadable(err, False) from None
        except ParseError as err:  # readable XML whose blocks do not form a construction tree
            typer.echo(f"invalid machine: {err}", err=True)
            raise typer.Exit(EXIT_FAIL) from None
    else:
        report = check_machine(text, reference_quirks=quirks)
        if _unreadable(report):
            typer.echo(f"error: {report.issues[0]}", err=True)
            raise typer.Exit(EXIT_UNREADABLE)
    if not report.valid or report.machine is None:
        typer.echo("invalid machine:", err=True)
        for err_text in report.errors:
            typer.echo("  " + err_text.rstrip("\n").replace("\n", "\n  "), err=True)
        if not report.file_valid:  # the reference's reject message alone does not say why
            for issue in report.issues:
                typer.echo(f"  - {issue}", err=True)
        raise typer.Exit(EXIT_FAIL)
    if fmt == "bsg":
        title = name if name is not None else ("brickfield machine" if file == "-" else Path(file).stem)
        result = to_bsg(report.machine, name=title)
    else:
        from brickfield.machines.io.mjcf import machine_to_mjcf, scene_to_mjcf

        try:
            result = (scene_to_mjcf(report.machine, lvl) if lvl is not None
                      else machine_to_mjcf(report.machine))
        except ValueError as exc:  # MuJoCo refused to compile the model
            typer.echo(f"error: cannot build the MuJoCo model: {exc}", err=True)
            raise typer.Exit(EXIT_FAIL) from None
    if out is None:
        typer.echo(result, nl=False)
        raise typer.Exit(EXIT_OK)
    write_output(out, result)
    raise typer.Exit(EXIT_OK)


# --- simulate --------------------------------------------------------------------------------------

def _simulate_file(file: str, task: str, level: int, variant: int | None, strict: bool,
                   as_json: bool) -> tuple[Any, Any]:
    """Read FILE, simulate it on the level and return (TaskSpec, TaskResult); unreadable input or an
    unknown task/level exits with code 2."""
    from brickfield.machines.evaluate import evaluate_machine
    from brickfield.machines.scoring import level_scorer

    try:
        spec = level_scorer(task.strip().lower(), level, variant=variant)
    except KeyError as exc:
        raise typer.BadParameter(str(exc).strip("'\""), param_hint="--task/--level") from None
    try:
        text = read_input(file)
    except ParseError as err:
        raise fail_unreadable(err, as_json) from None
    result = evaluate_machine(text, spec, reference_quirks=not strict)
    if result.report is not None and _unreadable(result.report):
        if as_json:
            typer.echo(json.dumps(result.to_dict()))
        else:
            typer.echo(f"error: {result.report.issues[0]}", err=True)
        raise typer.Exit(EXIT_UNREADABLE)
    return spec, result


@app.command("simulate")
def simulate_cmd(
    file: str = typer.Argument(..., help="Construction tree (JSON or LLM text), or - for stdin."),
    task: str = typer.Option("car", "--task", help="car, catapult, delivery or fetch."),
    level: int = typer.Option(1, "--level", help="Level number of the task (see `machine levels`)."),
    variant: int = typer.Option(None, "--variant", min=0, help="Seed of a randomised variant of the level "
                                "(stones, cone groups, wind; the same seed gives the same level)."),
    as_json: bool = typer.Option(False, "--json", help="Print score, validity, reward, damage, metrics "
                                 "and timing as JSON."),
    trace: Path = typer.Option(None, "--trace", help="Write the full trace (every block's position, "
                               "rotation and velocity every 0.2 s, Besiege coordinates) to this JSON file."),
    strict: bool = typer.Option(False, "--strict", help="Fixed reading of the rules instead of the "
                                "reference's quirks (placement and validity, as in `check --strict`)."),
) -> None:
    """Simulate a machine on a task level and score it (reward = validity x score).

    Exit 0 simulated and valid, 1 invalid machine (still simulated when it could be placed) or a
    simulation stopped early, 2 unreadable input or unknown task/level.
    """
    from brickfield.machines.feedback.text import feedback_text

    spec, result = _simulate_file(file, task, level, variant, strict, as_json)
    if trace is not None and result.episode is not None:
        try:
            trace.write_text(json.dumps(result.episode.to_dict()), encoding="utf-8")
        except OSError as exc:
            typer.echo(f"error: cannot write {trace}: {exc.strerror or exc}", err=True)
            raise typer.Exit(EXIT_UNREADABLE) from None
    if as_json:
        out = result.to_dict()
        out["level"] = spec.level.label
        typer.echo(json.dumps(out))
    else:
        typer.echo(feedback_text(result))
        t = result.timing
        if t:
            typer.echo(f"timing: compile {t['compile_s'] * 1e3:.1f} ms, simulate {t['sim_s'] * 1e3:.1f} ms "
                       f"for {t['sim_seconds']:.1f} s simulated")
    ok = result.valid and result.episode is not None and result.episode.valid
    raise typer.Exit(EXIT_OK if ok else EXIT_FAIL)


# --- query -----------------------------------------------------------------------------------------

@app.command("query")
def query_cmd(
    file: str = typer.Argument(..., help="Construction tree (JSON or LLM text), or - for stdin."),
    request: str = typer.Option(..., "--request", help="Querier request: JSON text like "
                                "'[{\"order_id\": 1, \"duration\": [0, 2], \"properties\": [\"position\"]}]' "
                                "(an LLM answer with a <Required Feedback> section works too), or @FILE."),
    task: str = typer.Option("car", "--task", help="car, catapult, delivery or fetch."),
    level: int = typer.Option(1, "--level", help="Level number of the task."),
    variant: int = typer.Option(None, "--variant", min=0, help="Seed of a randomised variant of the level."),
    as_json: bool = typer.Option(False, "--json", help="Print the structured answer as JSON."),
    clip: bool = typer.Option(False, "--clip", help="Clip durations to the episode instead of refusing."),
    strict: bool = typer.Option(False, "--strict", help="Fixed reading of the rules (see `check --strict`)."),
) -> None:
    """Simulate a machine and answer an environment-querier request from its recorded trace
    (positions, rotations, velocities, rubber-band/winch lengths of chosen blocks over a time window).

    Exit 0 answered, 2 unreadable machine or a bad request (the error names the offending item)."""
    from brickfield.machines.feedback.querier import answer_query

    try:
        req_text = read_input(request[1:]) if request.startswith("@") else request
    except ParseError as err:
        raise fail_unreadable(err, as_json) from None
    _spec, result = _simulate_file(file, task, level, variant, strict, as_json)
    if result.episode is None:
        typer.echo("error: the machine could not be simulated: " + "; ".join(result.errors)[:500], err=True)
        raise typer.Exit(EXIT_UNREADABLE)
    try:
        answer = answer_query(req_text, result, clip=clip)
    except ParseError as err:
        raise fail_unreadable(err, as_json) from None
    typer.echo(json.dumps(answer.to_dict()) if as_json else answer.text)


# --- levels ----------------------------------------------------------------------------------------

@app.command("levels")
def levels_cmd(
    task: str = typer.Option(None, "--task", help="Only this task (car, catapult, delivery, fetch)."),
    as_json: bool = typer.Option(False, "--json", help="Print every level as JSON."),
) -> None:
    """List every level: task, number, duration, win condition, allowed blocks and prompt."""
    from brickfield.machines.levels.registry import LEVELS

    rows = []
    for name, lvl in LEVELS.items():
        if task is not None and lvl.task != task.strip().lower():
            continue
        rows.append({"name": name, "task": lvl.task, "number": lvl.number, "duration": lvl.duration,
                     "win_condition": lvl.win_condition,
                     "allowed_blocks": sorted(lvl.allowed_blocks, key=int), "prompt": lvl.prompt,
                     "schedule": lvl.schedule.to_dict(), "wheels_automatic": lvl.wheels_automatic,
                     "spawn": list(lvl.spawn), "obstacles": len(lvl.obstacles),
                     "triggers": len(lvl.triggers), "goal_objects": [g.name for g in lvl.goal_objects],
                     "wind": list(lvl.wind.direction) if lvl.wind is not None else None})
    if not rows:
        raise typer.BadParameter(f"no levels for task {task!r}", param_hint="--task")
    if as_json:
        typer.echo(json.dumps(rows))
        raise typer.Exit(EXIT_OK)
    table = Table(title="BesiegeField levels", show_lines=True)
    for col in ("level", "s", "win condition", "blocks", "prompt"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(r["name"], f"{r['duration']:g}", r["win_condition"], " ".join(r["allowed_blocks"]),
                      r["prompt"])
    Console().print(table)
    raise typer.Exit(EXIT_OK)
