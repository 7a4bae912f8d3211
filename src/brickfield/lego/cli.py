"""`brickfield lego ...`: check structures, score them against a target, export LDraw.

``check`` and ``score`` evaluate through the LEGO domain (``get_domain("lego")``): a free-design task
(reward = fraction of valid bricks x stability) or, with a target, PVPO ((1-λ)·R_phys + λ·R_vox).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from brickfield.core.cliutil import (
    EXIT_FAIL,
    EXIT_OK,
    GuardedGroup,
    Job,
    check_inputs,
    exit_for_status,
    fail_unreadable,
    read_input,
    run_evaluation_batch,
    usage_error,
    write_output,
)
from brickfield.core.errors import ParseError
from brickfield.core.evaluation import Evaluation
from brickfield.core.registry import get_domain
from brickfield.core.task import TaskSpec, TaskSpecError
from brickfield.lego.ldraw import to_ldr
from brickfield.lego.rewards import DEFAULT_LAMBDA
from brickfield.lego.tasks import DEFAULT_SUITE
from brickfield.lego.textformat import parse_structure
from brickfield.lego.voxels import MAX_ALIGN

app = typer.Typer(no_args_is_help=True, add_completion=False, cls=GuardedGroup,
                  pretty_exceptions_enable=False)

DEFAULT_CAPTION = "free design"
"""Caption of a task that is not a suite name and has no ``--caption`` (it only appears in prompts)."""

SUITE_NAMES = tuple(name for name, _, _ in DEFAULT_SUITE)

EXIT_HELP = ("Exit codes: 0 valid (check: and stable), 1 invalid (check: or unstable), 2 unreadable or "
             "unparseable input, over the brick limit, or a usage error. With --batch: 0 once every line has "
             "a record, 2 when the input cannot be read or --out cannot be written.")

# Options shared by check and score (typer needs one Option object per parameter, so these are factories).
_TASK_HELP = (f"Task name: a suite task ({', '.join(SUITE_NAMES)}) brings its caption and target structure; "
              "any other name is a task of your own (free design unless --target).")


def _task_opt(default: str) -> Any:
    return typer.Option(default, "--task", "-t", help=_TASK_HELP)


def _batch_opts() -> dict[str, Any]:
    return {
        "out": typer.Option(None, "--out", "-o", help="With --batch: write the JSONL records here (progress "
                            "bar on a terminal) instead of stdout."),
        "workers": typer.Option(1, "--workers", "-w", min=0, help="With --batch: worker processes (0: one "
                                "per CPU)."),
        "resume": typer.Option(False, "--resume", help="With --batch: append to --out, skipping records "
                               "whose id is already there (finish a killed run)."),
    }


_BATCH = _batch_opts()


def _spec(name: str, caption: str | None, target: str | None, lam: float, align: int) -> TaskSpec:
    """The LEGO task: a suite name brings its caption and target; other names need a caption (a
    neutral one is used when none is given)."""
    if caption is None and name not in SUITE_NAMES:
        caption = DEFAULT_CAPTION
    return get_domain("lego").task(name, caption=caption, target=target, lam=lam, align=align)


def _cli_spec(name: str, caption: str | None, target_file: str | None, lam: float, align: int,
              as_json: bool = False) -> tuple[TaskSpec, str | None]:
    """(spec, target text) from the command's options; unreadable target or bad task exits 2."""
    target = None
    if target_file is not None:
        try:
            target = read_input(target_file)
        except ParseError as err:
            raise fail_unreadable(err, as_json) from None
    try:
        return _spec(name, caption, target, lam, align), target
    except TaskSpecError as err:
        raise usage_error(str(err)) from None


def _record_preparer(default: TaskSpec, target: str | None, lam: float, align: int,
                     need_target: bool) -> Any:
    """A batch ``prepare``: ``bricks`` (required) plus optional ``task``, ``caption``, ``target`` that
    override the command's options for that record."""
    cache: dict[tuple[Any, ...], TaskSpec] = {}
    default_caption = default.param("caption")

    def prepare(rec: dict[str, Any]) -> Job:
        bricks = rec.get("bricks")
        if not isinstance(bricks, str):
            raise ParseError("bad_record", "'bricks' must be a string of brick lines")
        for key in ("task", "caption", "target"):
            if rec.get(key) is not None and not isinstance(rec[key], str):
                raise ParseError("bad_record", f"'{key}' must be a string")
        if not any(rec.get(k) is not None for k in ("task", "caption", "target")):
            spec = default
        else:
            name = rec.get("task") or default.name
            caption = rec.get("caption") or (default_caption if name == default.name else None)
            key = (name, caption, rec.get("target") or target)
            if key not in cache:
                cache[key] = _spec(name, caption, key[2], lam, align)
            spec = cache[key]
        if need_target and spec.param("target") is None:
            raise ParseError("bad_record", "no target: give 'target' in the record, --target FILE or a suite "
                             "--task")
        return Job(bricks, spec)

    return prepare


def _evaluate_file(file: str, spec: TaskSpec, as_json: bool) -> Evaluation:
    """Evaluate FILE on ``spec``; unreadable FILE exits 2; an unparseable answer is printed (record
    with --json, one line on stderr otherwise) and exits 2."""
    try:
        text = read_input(file)
    except ParseError as err:
        raise fail_unreadable(err, as_json) from None
    ev = get_domain("lego").evaluate_text(text, spec)
    if ev.status in ("unparseable", "refused", "error"):
        if as_json:
            typer.echo(ev.to_json())
        else:
            typer.echo(f"error: {ev.status}: " + "; ".join(ev.errors), err=True)
        raise typer.Exit(exit_for_status(ev.status))
    return ev


def _print_check(ev: Evaluation, title: str) -> None:
    console = Console()
    d = ev.details
    table = Table(title=title)
    for col in ("#", "line", "brick", "score", "reasons"):
        table.add_column(col, justify="right" if col in ("#", "line", "score") else "left")
    rows = zip(d["bricks"], d["lines"], d["scores"], d["reasons"], strict=True)
    for i, (brick, line, score, reasons) in enumerate(rows):
        s = "-" if score is None else f"{score:.3f}"
        style = "red" if reasons or (score is not None and score >= 1) else None
        table.add_row(str(i), str(line or ""), brick or "(malformed)", s, ", ".join(reasons) or "ok",
                      style=style)
    console.print(table)
    verdict = ("VALID" if ev.valid else "INVALID") + (" and STABLE" if d["stable"] else " and UNSTABLE")
    colour = "green" if ev.valid and d["stable"] else "red"
    max_score = ev.metrics.get("max_score")
    console.print(f"[bold {colour}]{verdict}[/]  reward {ev.reward:.4f}"
                  + (f", max score {max_score:.3f}" if max_score is not None else "")
                  + f", stability {ev.timings.get('stability_s', 0.0) * 1000:.1f} ms")
    for err in ev.errors:
        console.print(f"  - {err}", markup=False)


def _batch_run(batch: str, out: Path | None, prepare: Any, workers: int, resume: bool, label: str) -> None:
    summary = run_evaluation_batch(batch, out, prepare, workers=workers, resume=resume, label=label)
    if out is not None:
        typer.echo(summary.line(), err=True)
    raise typer.Exit(EXIT_OK)


@app.command(epilog=EXIT_HELP)
def check(
    file: str = typer.Argument(None, help="Brick text file (`HxW (x,y,z)` per line; LLM text works), or - "
                               "for stdin."),
    task: str = _task_opt("free"),
    caption: str = typer.Option(None, "--caption", help="The task's caption (free design from a caption)."),
    target: str = typer.Option(None, "--target", help="Target brick text file: score with PVPO."),
    lam: float = typer.Option(DEFAULT_LAMBDA, "--lam", help="PVPO weight λ of the voxel "
                              "reward (with a target)."),
    align: int = typer.Option(0, "--align", min=0, max=MAX_ALIGN, help="PVPO: search integer shifts up to "
                              f"this many cells (at most {MAX_ALIGN})."),
    as_json: bool = typer.Option(False, "--json", help="Print the Evaluation record as JSON."),
    batch: str = typer.Option(None, "--batch", help="JSONL input (or -): one {\"id\", \"bricks\"} object per "
                              "line, optional \"task\", \"caption\", \"target\" overriding the options."),
    out: Path = _BATCH["out"],
    workers: int = _BATCH["workers"],
    resume: bool = _BATCH["resume"],
) -> None:
    """Check a brick structure: per-brick validity (library, bounds, collisions, support) and stability.

    Prints a per-brick table and the verdict, or with --json the Evaluation record (status ok | invalid |
    unparseable | refused | error, reward, components, metrics, issues, details with per-brick bricks/
    lines/reasons/scores and stable). With --batch every line gets one record
    {"id", "line", "task", "evaluation"} or {"id", "line", "error": {"code", "message"}}, in input order.
    """
    check_inputs(file, batch, out=out, workers=workers, resume=resume)
    spec, target_text = _cli_spec(task, caption, target, lam, align, as_json)
    if batch is not None:
        _batch_run(batch, out, _record_preparer(spec, target_text, lam, align, False), workers, resume,
                   "checking structures")
    ev = _evaluate_file(file, spec, as_json)
    if as_json:
        typer.echo(ev.to_json())
    else:
        _print_check(ev, file)
    raise typer.Exit(EXIT_OK if ev.valid and ev.details.get("stable") else EXIT_FAIL)


def _print_score(ev: Evaluation, title: str, lam: float) -> None:
    table = Table(title=title)
    table.add_column("metric")
    table.add_column("value", justify="right")
    m = ev.metrics
    rows = [("status", ev.status), ("R_phys", ev.components.get("r_phys")),
            ("R_vox", ev.components.get("r_vox")), (f"reward (PVPO, λ={lam:g})", ev.reward),
            ("IoU", m.get("iou")), ("voxel distance", m.get("voxel_distance")), ("F-score", m.get("fscore")),
            ("shift", m.get("shift")), ("success", ev.success)]
    for name, val in rows:
        table.add_row(name, f"{val:.4f}" if isinstance(val, float) else str(val))
    console = Console()
    console.print(table)
    for err in ev.errors:
        console.print(f"  - {err}", markup=False)


@app.command(epilog=EXIT_HELP)
def score(
    file: str = typer.Argument(None, help="Candidate brick text file, or -."),
    target: str = typer.Option(None, "--target", help="Reference brick text file (the default target of "
                               "--batch records)."),
    task: str = _task_opt("target"),
    caption: str = typer.Option(None, "--caption", help="The task's caption."),
    lam: float = typer.Option(DEFAULT_LAMBDA, "--lam", help="PVPO weight λ of the voxel reward."),
    align: int = typer.Option(0, "--align", min=0, max=MAX_ALIGN,
                              help=f"Search integer shifts up to this many cells (at most {MAX_ALIGN})."),
    as_json: bool = typer.Option(False, "--json", help="Print the Evaluation record as JSON."),
    batch: str = typer.Option(None, "--batch", help="JSONL input (or -): one {\"id\", \"bricks\"} object per "
                              "line, optional \"target\" (brick text; default --target), \"task\", "
                              "\"caption\"."),
    out: Path = _BATCH["out"],
    workers: int = _BATCH["workers"],
    resume: bool = _BATCH["resume"],
) -> None:
    """Score a structure against a target structure: PVPO reward and geometric metrics.

    Prints R_phys, R_vox, reward = (1-λ)·R_phys + λ·R_vox, IoU, voxel distance, F-score and the best
    shift.

    Needs --target FILE or a suite --task (tower, table, ...). With --json prints the Evaluation record
    (components r_phys/r_vox, metrics iou/voxel_distance/fscore/shift). --batch writes one record per line
    as `lego check --batch` does. Invalid designs keep their partial PVPO reward (exit 1).
    """
    check_inputs(file, batch, out=out, workers=workers, resume=resume)
    spec, target_text = _cli_spec(task, caption, target, lam, align, as_json)
    if batch is not None:
        _batch_run(batch, out, _record_preparer(spec, target_text, lam, align, True), workers, resume,
                   "scoring structures")
    if spec.param("target") is None:
        raise usage_error(f"lego score needs --target FILE or a suite --task ({', '.join(SUITE_NAMES)})")
    ev = _evaluate_file(file, spec, as_json)
    if as_json:
        typer.echo(ev.to_json())
    else:
        _print_score(ev, f"{Path(file).name} vs {Path(target).name if target else spec.name}", lam)
    raise typer.Exit(exit_for_status(ev.status))


@app.command("to-ldr")
def to_ldr_cmd(
    file: str = typer.Argument(..., help="Brick text file, or -."),
    color: int = typer.Option(115, "--color", help="LDraw colour code."),
    out: Path = typer.Option(None, "--out", "-o", help="Write here instead of stdout."),
) -> None:
    """Export to LDraw (.ldr) with BrickGPT's mapping, one `0 STEP` per brick.

    Exit codes: 0 written, 1 the structure cannot be exported (bricks outside the library), 2 unreadable
    or unparseable input, unwritable --out."""
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



def _register_data_commands() -> None:
    """``legolize`` and ``dataset`` live in ``lego.cli_data`` (their own module: mesh/voxel IO and the
    dataset writer), ``generate`` in ``gen.cli`` (constrained decoding; torch is imported only when it
    runs)."""
    from brickfield.gen.cli import generate_command
    from brickfield.lego.cli_data import dataset_cmd, legolize_cmd

    app.command("generate")(generate_command)
    app.command("legolize")(legolize_cmd)
    app.command("dataset")(dataset_cmd)


_register_data_commands()
