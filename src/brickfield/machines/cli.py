"""`brickfield machine ...`: commands for Besiege-style machines (one function per command).

``simulate`` and ``query`` evaluate through the machines domain (``get_domain("machines").task(...)``,
``evaluate_text`` / ``core.evaluate_many``); levels are named the same way everywhere (``car:2``,
``car_level2``, ``car``, ``catapult:8@3``; ``machines.tasks.parse_level_name``).
"""

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
    GuardedGroup,
    Job,
    check_inputs,
    exit_for_status,
    fail_unreadable,
    parse_json_option,
    read_input,
    run_batch,
    run_evaluation_batch,
    usage_error,
    write_output,
)
from brickfield.core.errors import ParseError
from brickfield.core.evaluation import Evaluation
from brickfield.core.task import TaskSpec, TaskSpecError
from brickfield.machines.design.catalog import BLOCKS
from brickfield.machines.design.tree import TreeCode
from brickfield.machines.design.validity import ValidityReport, check_machine

app = typer.Typer(no_args_is_help=True, add_completion=False, cls=GuardedGroup,
                  pretty_exceptions_enable=False)


@app.callback()
def _group() -> None:
    """Besiege-style machines: check, simulate, query, export, levels."""


LEVEL_HELP = ("Level: TASK:N (car:2), TASK_levelN (car_level2) or TASK (level 1), optionally @SEED for a "
              "seeded variant (catapult:8@3). `brickfield machine levels` lists them.")
VARIANT_HELP = ("Seed of a randomised variant of the level (same as @SEED; the same seed gives the same "
                "level).")
BINDINGS_HELP = ("Key bindings, JSON or @FILE: {\"13\": {\"detach\": \"V\"}} per order_id, {\"*\": "
                 "{\"detach\": \"V\"}} for every block with the action. Replaces the task's default (fetch: "
                 "decouplers on V).")
STRICT_HELP = ("Fixed reading of the rules instead of reproducing the reference's quirks "
               "(docs/machines_validity.md).")
EXIT_HELP = ("Exit codes: 0 valid (and, for simulate, an episode that ran to its end), 1 invalid machine "
             "or an episode the simulator had to stop, 2 unreadable/unparseable input, over a limit, bad "
             "bindings, unknown level or another usage error. With --batch: 0 once every line has a record, "
             "2 when the input cannot be read or --out cannot be written.")
BATCH_RECORDS = ("one {\"id\", \"line\", \"task\", \"evaluation\"} record per input line, or {\"id\", "
                 "\"line\", \"error\": {\"code\", \"message\"}} for a line that is not a usable record "
                 "(docs/cli_records.md)")

# Issue codes meaning "no construction tree could be read at all" (exit 2, not 1).
_UNREADABLE = {TreeCode.BAD_TYPE, TreeCode.TOO_LARGE, TreeCode.TOO_DEEP, TreeCode.TOO_MANY_BLOCKS,
               TreeCode.BAD_JSON, TreeCode.EMPTY}


def _unreadable(report: ValidityReport) -> bool:
    """True when the text held no readable block list (as opposed to an invalid one)."""
    return (not report.file_valid and len(report.issues) == 1 and report.issues[0].code in _UNREADABLE
            and report.issues[0].item is None)


def _fmt(v: Any) -> str:
    return "(" + ", ".join(f"{c:g}" for c in v) + ")"


def _batch_options() -> dict[str, Any]:
    return {
        "out": typer.Option(None, "--out", "-o", help="With --batch: write the JSONL records here (progress "
                            "bar on a terminal) instead of stdout."),
        "workers": typer.Option(1, "--workers", "-w", min=0, help="With --batch: worker processes "
                                "(0: one per CPU)."),
        "resume": typer.Option(False, "--resume", help="With --batch: append to --out, skipping records "
                               "whose id is already there (finish a killed run)."),
    }


_BATCH = _batch_options()


# --- tasks -------------------------------------------------------------------------------------------

def machine_spec(name: str, variant: int | None = None, **params: Any) -> TaskSpec:
    """The machines task of level ``name`` (``car:2``, ``catapult:8@3`` ...); a bad name or parameter
    is a usage error (exit 2) whose message lists the known levels."""
    from brickfield.core.registry import get_domain

    try:
        return get_domain("machines").task(name, variant=variant, **params)
    except TaskSpecError as err:
        raise usage_error(str(err)) from None


def _bindings(value: str | None) -> dict[str, Any] | None:
    """``--bindings`` JSON/@FILE; None keeps the task's default."""
    if value is None:
        return None
    data = parse_json_option(value, "--bindings")
    if not isinstance(data, dict):
        raise usage_error("--bindings must be a JSON object {order_id or \"*\": {action: key}}")
    return data


def _read_or_exit(file: str, as_json: bool) -> str:
    try:
        return read_input(file)
    except ParseError as err:
        raise fail_unreadable(err, as_json) from None


# --- check -------------------------------------------------------------------------------------------

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


def _tree_text(rec: dict[str, Any]) -> str:
    """The answer text of a batch record: ``tree`` (JSON list or text) or ``text``."""
    tree, text = rec.get("tree"), rec.get("text")
    if isinstance(tree, list):
        return json.dumps(tree)
    if isinstance(tree, str):
        return tree
    if tree is None and isinstance(text, str):
        return text
    raise ParseError("bad_record", "give 'tree' (a JSON list or a string) or 'text' (a string)")


@app.command(epilog="Exit codes: 0 valid, 1 invalid, 2 unreadable input. With --batch: 0 once every line "
             "has a record, 2 when the input cannot be read or --out cannot be written.")
def check(
    file: str = typer.Argument(None, help="Construction-tree file (JSON or LLM text), or - for stdin."),
    as_json: bool = typer.Option(False, "--json", help="Print the validity report as JSON."),
    strict: bool = typer.Option(False, "--strict", help=STRICT_HELP),
    batch: str = typer.Option(None, "--batch", help="JSONL input (or -): one {\"id\", \"tree\"} (or "
                              "\"text\") object per line."),
    out: Path = _BATCH["out"],
    resume: bool = _BATCH["resume"],
) -> None:
    """Check a machine's file and spatial validity (no simulation, no level).

    Prints a block table and the verdict, or with --json the ValidityReport (valid, file_valid,
    spatial_valid, errors, warnings, issues, blocks). --batch writes one record per input line,
    {"id", "line", "task": null, "report": <ValidityReport>}, or {"id", "line", "error"} for a line that
    is not a usable record."""
    check_inputs(file, batch, out=out, resume=resume)
    quirks = not strict
    if batch is not None:
        def execute(jobs: list[Job], emit: Any) -> None:
            for i, job in enumerate(jobs):
                emit(i, {"task": None, "report": check_machine(job.text, reference_quirks=quirks).to_dict()})

        summary = run_batch(batch, out, lambda rec: Job(_tree_text(rec)), execute, resume=resume,
                            label="checking machines")
        if out is not None:
            typer.echo(summary.line(), err=True)
        raise typer.Exit(EXIT_OK)
    report = check_machine(_read_or_exit(file, as_json), reference_quirks=quirks)
    if as_json:
        typer.echo(json.dumps(report.to_dict()))
    else:
        _print_report(report, file)
    if _unreadable(report):
        raise typer.Exit(EXIT_UNREADABLE)
    raise typer.Exit(EXIT_OK if report.valid else EXIT_FAIL)


# --- export ------------------------------------------------------------------------------------------

def _export_report(text: str, quirks: bool) -> ValidityReport:
    """The validity report of a tree or a .bsg text; unreadable input exits 2, a .bsg whose blocks do
    not form a construction tree exits 1."""
    from brickfield.machines.design.validity import check_tree
    from brickfield.machines.io.bsg import BsgParseError, bsg_to_tree

    if text.lstrip("\ufeff \t\r\n").startswith("<"):  # a .bsg file rather than a tree
        try:
            return check_tree(bsg_to_tree(text, reference_quirks=quirks), reference_quirks=quirks)
        except BsgParseError as err:
            raise fail_unreadable(err, False) from None
        except ParseError as err:  # readable XML whose blocks do not form a construction tree
            typer.echo(f"invalid machine: {err}", err=True)
            raise typer.Exit(EXIT_FAIL) from None
    report = check_machine(text, reference_quirks=quirks)
    if _unreadable(report):
        typer.echo(f"error: {report.issues[0]}", err=True)
        raise typer.Exit(EXIT_UNREADABLE)
    return report


@app.command()
def export(
    file: str = typer.Argument(..., help="Construction tree (JSON or LLM text) or a .bsg file; - for stdin."),
    fmt: str = typer.Option("bsg", "--format", "-f", help="bsg (Besiege machine file) or mjcf (MuJoCo XML)."),
    out: Path = typer.Option(None, "--out", "-o", help="Write to this file instead of stdout."),
    task: str = typer.Option(None, "--task", "--level", "-t", help="mjcf only: add this level's ground, "
                             "obstacles and goal objects. " + LEVEL_HELP),
    variant: int = typer.Option(None, "--variant", min=0, help="mjcf only: " + VARIANT_HELP),
    name: str = typer.Option(None, "--name", help="Machine name in the .bsg header (default: file name)."),
    strict: bool = typer.Option(False, "--strict", help=STRICT_HELP),
) -> None:
    """Export a valid machine as a Besiege .bsg file or MuJoCo MJCF (alone, or in a level's scene).

    Exit 0 written, 1 invalid machine (validity errors on stderr), 2 unreadable input, unwritable --out
    or bad options (unknown format or level, a level with --format bsg).
    """
    from brickfield.machines.io.bsg import to_bsg

    fmt = fmt.lower()
    if fmt not in ("bsg", "mjcf"):
        raise usage_error(f"--format: {fmt!r} is not one of bsg, mjcf")
    if (task is not None or variant is not None) and fmt != "mjcf":
        raise usage_error("--task/--level and --variant only apply to --format mjcf")
    lvl = None
    if task is not None or variant is not None:
        from brickfield.machines.tasks import task_level

        lvl = task_level(machine_spec(task or "car:1", variant))
    report = _export_report(_read_or_exit(file, False), not strict)
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
    else:
        write_output(out, result)
    raise typer.Exit(EXIT_OK)


# --- simulate ----------------------------------------------------------------------------------------

def _evaluate_file(file: str, spec: TaskSpec, as_json: bool) -> Evaluation:
    """Evaluate FILE on ``spec`` through the domain. Unreadable input, an unparseable or refused answer
    and bad bindings print (the record with --json, one line on stderr otherwise) and exit 2."""
    from brickfield.core.registry import get_domain

    ev = get_domain("machines").evaluate_text(_read_or_exit(file, as_json), spec)
    stop = ev.status in ("unparseable", "refused", "error")
    bad_binding = [i for i in ev.issues if i.get("code") == "bad_binding"]
    if stop or bad_binding:
        if as_json:
            typer.echo(ev.to_json())
        else:
            typer.echo(f"error: {ev.status}: " + "; ".join(ev.errors)[:2000], err=True)
        raise typer.Exit(EXIT_UNREADABLE if bad_binding else exit_for_status(ev.status))
    return ev


def _write_trace(path: Path, ev: Evaluation) -> None:
    episode = getattr(ev.handle, "episode", None)
    if episode is None:
        typer.echo("warning: the machine was not simulated; no trace written", err=True)
        return
    write_output(path, json.dumps(episode.to_dict()))


def _print_simulation(ev: Evaluation, spec: TaskSpec, level: str) -> None:
    from brickfield.core.registry import get_domain

    typer.echo(get_domain("machines").feedback(ev, level, spec).text)
    t = getattr(ev.handle, "timing", None) or {}
    if t.get("sim_s") is not None:
        typer.echo(f"timing: compile {t.get('compile_s', 0.0) * 1e3:.1f} ms, "
                   f"simulate {t['sim_s'] * 1e3:.1f} ms for {t.get('sim_seconds', 0.0):.1f} s simulated")
    verdict = "yes" if ev.success else "no"
    typer.echo(f"{spec.id}: status {ev.status}, reward {ev.reward:.4f}, success {verdict}")


def _simulate_preparer(default: TaskSpec, params: dict[str, Any]) -> Any:
    """Batch ``prepare``: the record's tree/text on its ``task`` (default: the command's --task)."""
    cache: dict[str, TaskSpec] = {}

    def prepare(rec: dict[str, Any]) -> Job:
        text = _tree_text(rec)
        name = rec.get("task")
        if name is None:
            return Job(text, default)
        if not isinstance(name, str):
            raise ParseError("bad_record", "'task' must be a level name such as \"car:2\"")
        if name not in cache:
            from brickfield.machines.tasks import machine_task

            cache[name] = machine_task(name, **params)  # TaskSpecError -> a bad_task error record
        return Job(text, cache[name])

    return prepare


@app.command("simulate", epilog=EXIT_HELP)
def simulate_cmd(
    file: str = typer.Argument(None, help="Construction tree (JSON or LLM text), or - for stdin."),
    task: str = typer.Option("car:1", "--task", "--level", "-t", help=LEVEL_HELP),
    variant: int = typer.Option(None, "--variant", min=0, help=VARIANT_HELP),
    bindings: str = typer.Option(None, "--bindings", help=BINDINGS_HELP),
    strict: bool = typer.Option(False, "--strict", help=STRICT_HELP),
    allow_any_block: bool = typer.Option(False, "--allow-any-block", help="Score machines using blocks the "
                                         "level does not allow (BesiegeField's behaviour) instead of "
                                         "invalid."),
    simulate_invalid: bool = typer.Option(False, "--simulate-invalid", help="Simulate invalid machines too "
                                          "(their score becomes a metric; the reward stays 0)."),
    seed: int = typer.Option(0, "--seed", help="Simulation seed (deterministic per seed)."),
    wall_seconds: float = typer.Option(60.0, "--wall-seconds", help="Wall-clock limit of one episode, "
                                       "in (0, 3600]; an overrun is an invalid episode."),
    feedback: str = typer.Option("full", "--feedback", help="Text detail: full, minimal or score."),
    as_json: bool = typer.Option(False, "--json", help="Print the Evaluation record as JSON."),
    trace: Path = typer.Option(None, "--trace", help="Write the full trace (every block's position, "
                               "rotation and velocity every 0.2 s, Besiege coordinates) to this JSON file."),
    batch: str = typer.Option(None, "--batch", help="JSONL input (or -): {\"id\", \"tree\" or \"text\", "
                              "optional \"task\": \"car:2\"} per line; writes " + BATCH_RECORDS + "."),
    out: Path = _BATCH["out"],
    workers: int = _BATCH["workers"],
    resume: bool = _BATCH["resume"],
) -> None:
    """Simulate a machine on a level and score it: reward = validity x the level's score.

    Prints the environment feedback (the text an agent receives), timing and the verdict, or with --json
    the Evaluation record (status, reward, success, components valid/score, metrics, issues, details
    with damage, triggers and the level). The other options set the task's parameters.
    """
    check_inputs(file, batch, out=out, workers=workers, resume=resume)
    if batch is not None and trace is not None:
        raise usage_error("--trace applies to one FILE, not to --batch")
    if feedback not in ("full", "minimal", "score"):
        raise usage_error(f"--feedback: {feedback!r} is not one of full, minimal, score")
    params = {"bindings": _bindings(bindings), "reference_quirks": not strict, "seed": seed,
              "allow_any_block": allow_any_block, "simulate_invalid": simulate_invalid,
              "wall_seconds": wall_seconds}
    spec = machine_spec(task, variant, **params)
    if batch is not None:
        summary = run_evaluation_batch(batch, out, _simulate_preparer(spec, params), workers=workers,
                                       resume=resume, label="simulating machines")
        if out is not None:
            typer.echo(summary.line(), err=True)
        raise typer.Exit(EXIT_OK)
    ev = _evaluate_file(file, spec, as_json)
    if trace is not None:
        _write_trace(trace, ev)
    if as_json:
        typer.echo(ev.to_json())
    else:
        _print_simulation(ev, spec, feedback)
    raise typer.Exit(exit_for_status(ev.status))


# --- query -------------------------------------------------------------------------------------------

@app.command("query")
def query_cmd(
    file: str = typer.Argument(..., help="Construction tree (JSON or LLM text), or - for stdin."),
    request: str = typer.Option(..., "--request", help="Querier request: JSON text like "
                                "'[{\"order_id\": 1, \"duration\": [0, 2], \"properties\": [\"position\"]}]' "
                                "(an LLM answer with a <Required Feedback> section works too), or @FILE."),
    task: str = typer.Option("car:1", "--task", "--level", "-t", help=LEVEL_HELP),
    variant: int = typer.Option(None, "--variant", min=0, help=VARIANT_HELP),
    bindings: str = typer.Option(None, "--bindings", help=BINDINGS_HELP),
    seed: int = typer.Option(0, "--seed", help="Simulation seed."),
    as_json: bool = typer.Option(False, "--json", help="Print the structured answer as JSON."),
    clip: bool = typer.Option(False, "--clip", help="Clip durations to the episode instead of refusing."),
    strict: bool = typer.Option(False, "--strict", help=STRICT_HELP),
) -> None:
    """Simulate a machine (invalid ones too, when they can be placed) and answer an environment-querier
    request from its recorded trace: positions, rotations, velocities, rubber-band/winch lengths of
    chosen blocks over a time window.

    Exit 0 answered, 2 unreadable or unplaceable machine, bad bindings, unknown level or a bad request
    (the error names the offending item)."""
    from brickfield.machines.feedback.querier import answer_query

    try:
        req_text = read_input(request[1:]) if request.startswith("@") else request
    except ParseError as err:
        raise fail_unreadable(err, as_json) from None
    spec = machine_spec(task, variant, bindings=_bindings(bindings), seed=seed, reference_quirks=not strict,
                        simulate_invalid=True, allow_any_block=True)
    ev = _evaluate_file(file, spec, as_json)
    result = ev.handle
    if result is None or result.episode is None:
        typer.echo("error: the machine could not be simulated: " + "; ".join(ev.errors)[:500], err=True)
        raise typer.Exit(EXIT_UNREADABLE)
    try:
        answer = answer_query(req_text, result, clip=clip)
    except ParseError as err:
        raise fail_unreadable(err, as_json) from None
    typer.echo(json.dumps(answer.to_dict()) if as_json else answer.text)


# --- levels ------------------------------------------------------------------------------------------

def _level_row(name: str, lvl: Any) -> dict[str, Any]:
    return {"name": name, "task": lvl.task, "number": lvl.number, "duration": lvl.duration,
            "win_condition": lvl.win_condition,
            "allowed_blocks": sorted(lvl.allowed_blocks, key=int), "prompt": lvl.prompt,
            "schedule": lvl.schedule.to_dict(), "wheels_automatic": lvl.wheels_automatic,
            "spawn": list(lvl.spawn), "obstacles": len(lvl.obstacles),
            "triggers": len(lvl.triggers), "goal_objects": [g.name for g in lvl.goal_objects],
            "wind": list(lvl.wind.direction) if lvl.wind is not None else None}


def _selected_levels(task: str | None) -> list[tuple[str, Any]]:
    """``(name, Level)`` of every level, a family (``car``) or one level (``car:2``, ``catapult:8@3``)."""
    from brickfield.machines.levels.registry import LEVELS
    from brickfield.machines.tasks import task_level

    if task is None:
        return list(LEVELS.items())
    t = task.strip().lower()
    if any(mark in t for mark in (":", "_level", "@")):
        lvl = task_level(machine_spec(t))
        return [(lvl.label, lvl)]
    families = sorted({lvl.task for lvl in LEVELS.values()})
    if t not in families:
        raise usage_error(f"--task: no levels for {task!r}; tasks: {', '.join(families)} "
                          "(or one level such as car:2)")
    return [(name, lvl) for name, lvl in LEVELS.items() if lvl.task == t]


@app.command("levels")
def levels_cmd(
    task: str = typer.Option(None, "--task", "--level", "-t", help="Only this task family (car, catapult, "
                             "delivery, fetch) or this one level (car:2, catapult:8@3)."),
    as_json: bool = typer.Option(False, "--json", help="Print every level as JSON."),
) -> None:
    """List the levels: task, number, duration, win condition, allowed blocks and prompt (--json adds the
    key schedule, spawn, obstacles, triggers, goal objects and wind).

    Exit 0 listed, 2 unknown task or level."""
    rows = [_level_row(name, lvl) for name, lvl in _selected_levels(task)]
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
