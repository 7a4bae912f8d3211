"""Machines part of `make demo`: validate and simulate the shipped reference machines on one level of
every task (car, catapult, delivery, fetch), print a score table, and write each machine's .bsg, the
MJCF scene (machine + level, opens in MuJoCo's viewer) and the feedback text an agent would receive."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from brickfield.machines.evaluate import evaluate_machine
from brickfield.machines.feedback.text import feedback_text
from brickfield.machines.io.bsg import to_bsg
from brickfield.machines.io.mjcf import scene_to_mjcf
from brickfield.machines.reference import reference_machine
from brickfield.machines.scoring import level_scorer
from brickfield.machines.sim.controls import REFERENCE_BINDINGS

#: (reference machine, task, level) rows shown by the demo: a design that scores and negative
#: controls for every task family.
DEMO_RUNS: tuple[tuple[str, str, int], ...] = (
    ("car", "car", 1),
    ("car_wheels_down", "car", 1),
    ("car_no_wheels", "car", 1),
    ("catapult", "catapult", 1),
    ("catapult_no_boulder", "catapult", 1),
    ("delivery", "delivery", 5),
    ("delivery_no_wheels", "delivery", 5),
    ("fetch", "fetch", 1),
    ("fetch_no_grabber", "fetch", 1),
)


def run(console: Console, out_dir: Path) -> None:
    """Evaluate every demo row and print the table; artefacts go under `out_dir`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    table = Table(title="Machines: reference designs (MuJoCo, headless)")
    for col in ("machine", "task", "valid", "score", "reward", "compile ms", "episode ms", "x real time",
                "damage"):
        table.add_column(col, justify="left" if col in ("machine", "task", "valid") else "right")
    for name, task, level in DEMO_RUNS:
        tree = reference_machine(name)
        result = evaluate_machine(tree, task, level, bindings=REFERENCE_BINDINGS.get(name))
        ep = result.episode
        sim_s = result.timing.get("sim_s", float("nan"))
        rtf = result.timing.get("sim_seconds", 0.0) / sim_s if sim_s else float("nan")
        table.add_row(name, result.task, "[green]yes[/]" if result.valid else "[red]no[/]",
                      f"{result.score:.2f}", f"{result.reward:.2f}",
                      f"{result.timing.get('compile_s', 0.0) * 1000:.1f}", f"{sim_s * 1000:.1f}",
                      f"{rtf:.0f}", str(len(ep.damage)) if ep else "-")
        stem = out_dir / name
        if result.report is not None and result.report.machine is not None:
            placed = result.report.machine
            stem.with_suffix(".bsg").write_text(to_bsg(placed, name=name))
            stem.with_suffix(".xml").write_text(scene_to_mjcf(placed, level_scorer(task, level).level))
        stem.with_suffix(".feedback.txt").write_text(feedback_text(result) + "\n")
    console.print(table)
    console.print(f"Artefacts in {out_dir}/: .bsg for the game, MJCF .xml for MuJoCo's viewer, feedback text")
