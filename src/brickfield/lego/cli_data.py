"""Command functions for ``brickfield lego legolize`` and ``brickfield lego dataset``.

They are plain typer-ready functions; the ``lego`` CLI group registers them with
``app.command("legolize")(legolize_cmd)`` and ``app.command("dataset")(dataset_cmd)``. Usage errors
and unusable input exit with status 2 and a one-line message on stderr, never a traceback.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import typer
from rich.console import Console

from brickfield.core.cliutil import EXIT_FAIL, EXIT_OK, EXIT_UNREADABLE
from brickfield.lego.dataset import DatasetError, DatasetRow, DatasetStats, build_dataset, format_for
from brickfield.lego.legolize import (
    MAX_WORLD,
    LegolizeConfig,
    LegolizeError,
    LegolizeResult,
    legolize,
    voxelize_mesh,
)
from brickfield.lego.objects import CATEGORIES

#: A .npy file bigger than this is refused before loading (a 64^3 float64 grid is ~2 MB).
MAX_NPY_BYTES = 64 * 1024 * 1024


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(EXIT_UNREADABLE)


def _load_voxels(path: Path) -> np.ndarray:
    try:
        if path.stat().st_size > MAX_NPY_BYTES:
            raise _fail(f"{path} is over {MAX_NPY_BYTES} bytes")
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise _fail(f"cannot read voxel grid {path}: {exc}") from None


def _summary(res: LegolizeResult) -> str:
    comps = f"{res.components_initial}->{res.components_merged}->{res.components_final}"
    repairs = ", ".join(f"{r.action}({r.bricks_removed})" if r.bricks_removed else r.action
                        for r in res.repairs) or "none"
    verdict = "VALID" if res.valid else "INVALID"
    verdict += " and STABLE" if res.stable else " and UNSTABLE"
    return (f"{verdict}: {len(res.structure)} bricks from {res.n_voxels} voxels, IoU {res.iou:.3f}, "
            f"components {comps}, repairs: {repairs}, {res.seconds['total'] * 1000:.0f} ms")


def legolize_cmd(
    source: Path = typer.Argument(..., metavar="VOXELS|MESH", help=(
        "A .npy boolean grid indexed [x, y, z] with z up, or a mesh file trimesh can load "
        "(.stl, .obj, .glb, .ply, ...).")),
    out: Path = typer.Option(None, "--out", "-o", help="Write the brick text here (default: stdout)."),
    size: int = typer.Option(20, "--size", min=1, max=MAX_WORLD, help=(
        "World size N (N x N x N). A mesh is scaled so its longest side spans N voxels; a larger "
        "voxel grid is downsampled to fit.")),
    up: str = typer.Option("z", "--up", help="The mesh's up axis: z (STL/CAD) or y (glTF/OBJ)."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed for the layout and repair choices."),
    randomness: float = typer.Option(0.0, "--randomness", min=0.0, max=100.0,
                                     help="Layout noise for a randomised variant (0 = canonical)."),
    repair: bool = typer.Option(True, "--repair/--no-repair",
                                help="Drop ungrounded and repair unstable bricks."),
    as_json: bool = typer.Option(False, "--json", help="Print the full result as JSON on stdout."),
) -> None:
    """Legolise a voxel grid or a mesh into library bricks (BrickGPT text).

    Exit 0 when the result is valid and stable, 1 when it is not (it is still written), 2 when the
    input cannot be used.
    """
    if not source.is_file():
        raise _fail(f"{source} is not a file")
    if up not in ("y", "z"):
        raise _fail(f"--up must be y or z, got {up!r}")
    cfg = LegolizeConfig(world_dim=size, seed=seed, randomness=randomness, repair=repair)
    try:
        grid = _load_voxels(source) if source.suffix.lower() == ".npy" else voxelize_mesh(source, size, up)
        res = legolize(grid, cfg)
    except LegolizeError as err:
        raise _fail(str(err)) from None
    text = res.structure.to_text()
    if out is not None:
        try:
            out.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise _fail(f"cannot write {out}: {exc.strerror or exc}") from None
    if as_json:
        typer.echo(json.dumps(res.to_dict()))
    else:
        if out is None:
            typer.echo(text, nl=False)
        typer.echo(_summary(res), err=True)
    raise typer.Exit(EXIT_OK if res.valid and res.stable else EXIT_FAIL)


def dataset_cmd(
    n: int = typer.Option(..., "--n", min=1, max=10_000_000, help="Number of rows (structures) to write."),
    out: Path = typer.Option(..., "--out", "-o", help="Output file (.parquet or .jsonl)."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed: the same seed gives the same rows."),
    fmt: str = typer.Option(None, "--format", help="parquet or jsonl (default: from the --out suffix)."),
    variants: int = typer.Option(2, "--variants", min=1, max=16,
                                 help="Layout variants per object (StableText2Brick's randomised layouts)."),
    scores: str = typer.Option("grid", "--scores", help=(
        "stability_scores layout: grid (20x20x20 per voxel, as StableText2Brick) or per-brick.")),
    categories: str = typer.Option(None, "--categories", help=(
        f"Comma-separated subset of: {', '.join(CATEGORIES)} (default: all).")),
) -> None:
    """Generate a procedural LEGO dataset in StableText2Brick's columns, every row verified stable.

    Parametric objects (tables, chairs, towers, bridges, houses, ...) are legolised into several
    layouts each; unstable or misshapen candidates are repaired or dropped, and counted.
    """
    try:
        kind = format_for(out, fmt)
    except ValueError as err:
        raise _fail(str(err)) from None
    layout = {"grid": "grid", "per-brick": "per_brick", "per_brick": "per_brick"}.get(scores)
    if layout is None:
        raise _fail(f"--scores must be grid or per-brick, got {scores!r}")
    cats = [c.strip() for c in categories.split(",") if c.strip()] if categories else None
    unknown = [c for c in cats or [] if c not in CATEGORIES]
    if unknown or cats == []:
        raise _fail(f"unknown categories {unknown}; known: {', '.join(CATEGORIES)}")
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    console = Console(stderr=True)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    try:
        with Progress(*columns, console=console, disable=not console.is_terminal) as progress:
            task = progress.add_task("legolising", total=n)

            def advance(_row: DatasetRow, st: DatasetStats) -> None:
                progress.update(task, completed=st.rows, description=f"legolising ({st.dropped} dropped)")

            stats = build_dataset(n, out, seed, kind, variants=variants, categories=cats,
                                  scores_layout=layout, on_row=advance)  # type: ignore[arg-type]
    except OSError as exc:
        raise _fail(f"cannot write {out}: {exc.strerror or exc}") from None
    except DatasetError as err:
        raise _fail(str(err)) from None
    typer.echo(f"wrote {stats.rows} rows ({stats.objects} objects, {stats.candidates} candidates, "
               f"{stats.repaired} repaired, {stats.dropped} dropped, {stats.duplicates} duplicate layouts) "
               f"to {out} ({kind})")
    raise typer.Exit(EXIT_OK if stats.rows == n else EXIT_FAIL)


__all__ = ["dataset_cmd", "legolize_cmd"]
