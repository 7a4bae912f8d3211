"""``brickfield design search``: evolutionary search for a machine, no LLM (one command function,
registered by the top-level CLI: ``app.command("search")(search_cmd)``).

    brickfield design search --task car:1 --budget 3000 --out runs/car1 --workers 2
    brickfield design search --task catapult:1 --budget 2000 --out runs/cat1 --start my_catapult.json
    brickfield design search --task car:1 --budget 3000 --out runs/car1 --workers 2 --cap max_speed=21

Prints a progress bar while it runs (stderr, terminals only) and a summary table at the end; writes
``best.json``/``best.bsg``, ``top/``, ``history.csv``/``history.jsonl`` and ``summary.json`` to --out.
Exit 0 when the best design scores above zero, 1 when nothing scored, 2 on bad usage or I/O errors.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from brickfield.agents.offline.evolution import GenerationStats, SearchConfig, SearchResult, evolve
from brickfield.agents.offline.output import load_start, write_search
from brickfield.agents.offline.space import SearchSpaceError, task_spec
from brickfield.core.cliutil import EXIT_FAIL, EXIT_OK, read_input, usage_error
from brickfield.core.errors import ParseError

__all__ = ["search_cmd", "summary_table"]


def summary_table(result: SearchResult, checkpoints: int = 8) -> Table:
    """A rich table: evaluations, wall time, best so far and population mean at up to ``checkpoints``
    evenly spaced generations (the last always included)."""
    table = Table(title=f"search {result.task} (seed {result.seed}): best {result.best_reward:.3f}")
    for col in ("generation", "evaluations", "wall s", "best", "population mean", "new designs mean"):
        table.add_column(col, justify="right")
    hist = result.history
    step = max(1, len(hist) // max(1, checkpoints - 1))
    rows = sorted({*range(0, len(hist), step), len(hist) - 1})
    for i in rows:
        h = hist[i]
        table.add_row(str(h.generation), str(h.evaluations), f"{h.wall_s:.1f}", f"{h.best:.3f}",
                      f"{h.mean:.3f}", f"{h.new_mean:.3f}")
    return table


def _start_text(start: str) -> str | None:
    if start == "bare":
        return None
    try:
        text = read_input(start)
    except ParseError as err:
        raise usage_error(f"--start: {err}") from None
    try:
        return load_start(text, bsg=start.lower().endswith(".bsg"))
    except SearchSpaceError as err:
        raise usage_error(f"--start: {err}") from None


def _caps(items: list[str]) -> dict[str, float]:
    caps: dict[str, float] = {}
    for item in items:
        name, _, value = item.partition("=")
        try:
            caps[name.strip()] = float(value)
        except ValueError:
            raise usage_error(f"--cap: expected METRIC=NUMBER, got {item!r}") from None
        if not name.strip():
            raise usage_error(f"--cap: expected METRIC=NUMBER, got {item!r}")
    return caps


def search_cmd(
    task: str = typer.Option("car:1", "--task", help="Level to design for: car:1, catapult:3, delivery:1..."),
    budget: int = typer.Option(2000, "--budget", min=1, help="Simulations (distinct designs evaluated)."),
    out: Path = typer.Option(..., "--out", help="Folder for best.json/.bsg, top/, history and summary."),
    seed: int = typer.Option(0, "--seed", help="Random seed (same seed: same designs, any --workers)."),
    workers: int = typer.Option(1, "--workers", min=1, help="Evaluation processes."),
    population: int = typer.Option(32, "--population", min=2, help="Designs kept per generation."),
    start: str = typer.Option("bare", "--start",
                              help="'bare' (the starting block alone) or a design file (tree JSON, "
                                   "LLM text or .bsg) to evolve from."),
    cap: list[str] = typer.Option([], "--cap", help="METRIC=VALUE, repeatable: designs whose metric "
                                  "exceeds VALUE count as 0 (e.g. max_speed=21 rules out rotor stacks)."),
) -> None:
    """Evolve a machine for a level without an LLM: mutations and crossover written in the edit
    language, designs scored by simulation, each distinct design once."""
    try:
        spec = task_spec(task)
    except SearchSpaceError as err:
        raise usage_error(f"--task: {err}") from None
    start_text = _start_text(start)
    config = SearchConfig(budget=budget, population=population, seed=seed, workers=workers,
                          metric_caps=_caps(cap))
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    try:
        with Progress(*columns, console=console, disable=not console.is_terminal) as progress:
            bar = progress.add_task(f"searching {spec.name}", total=budget)

            def advance(h: GenerationStats) -> None:
                progress.update(bar, completed=h.evaluations,
                                description=f"searching {spec.name} (gen {h.generation}, best {h.best:.2f})")

            result = evolve(spec, config, start=start_text, on_generation=advance)
    except SearchSpaceError as err:
        raise usage_error(str(err)) from None
    try:
        paths = write_search(result, out, config, reference_quirks=bool(spec.param("reference_quirks")))
    except OSError as exc:
        raise usage_error(f"cannot write {out}: {exc.strerror or exc}") from None
    Console().print(summary_table(result))
    typer.echo(f"best reward {result.best_reward:.3f} after {result.evaluations} simulations "
               f"({result.cache_hits} cache hits, {result.wall_s:.1f} s); wrote {len(paths)} files to {out}")
    raise typer.Exit(EXIT_OK if result.best_reward > 0 else EXIT_FAIL)
