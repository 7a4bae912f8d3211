"""Machines part of `make demo`: validate and simulate the shipped reference machines on one level of
every task (car, catapult, delivery, fetch) through the machines domain, print a score table, and write
each machine's .bsg, the MJCF scene (machine + level, opens in MuJoCo's viewer) and the feedback text an
agent would receive. The tasks' default key bindings apply (fetch: decouplers on V), so the reference
fetch crane scores 1.0 as it does for every other consumer of the contract."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from rich.table import Table

from brickfield.core.registry import get_domain
from brickfield.machines.io.bsg import to_bsg
from brickfield.machines.io.mjcf import scene_to_mjcf
from brickfield.machines.levels.registry import get_level
from brickfield.machines.reference import reference_machine

#: (reference machine, level) rows shown by the demo: a design that scores and negative controls for
#: every task family.
DEMO_RUNS: tuple[tuple[str, str], ...] = (
    ("car", "car:1"),
    ("car_wheels_down", "car:1"),
    ("car_no_wheels", "car:1"),
    ("catapult", "catapult:1"),
    ("catapult_no_boulder", "catapult:1"),
    ("delivery", "delivery:5"),
    ("delivery_no_wheels", "delivery:5"),
    ("fetch", "fetch:1"),
    ("fetch_no_grabber", "fetch:1"),
)


def run(console: Console, out_dir: Path) -> dict[str, float]:
    """Evaluate every demo row, print the table and return ``{machine: reward}``; artefacts go under
    `out_dir`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    domain = get_domain("machines")
    table = Table(title="Machines: reference designs (MuJoCo, headless)")
    for col in ("machine", "level", "status", "score", "reward", "success", "compile ms", "episode ms",
                "x real time", "damage"):
        table.add_column(col, justify="left" if col in ("machine", "level", "status", "success") else "right")
    rewards: dict[str, float] = {}
    for name, level in DEMO_RUNS:
        spec = domain.task(level)
        ev = domain.evaluate_text(json.dumps(reference_machine(name)), spec)
        rewards[name] = float(ev.reward or 0.0)
        result = ev.handle
        timing = getattr(result, "timing", None) or {}
        sim_s = timing.get("sim_s", float("nan"))
        rtf = timing.get("sim_seconds", 0.0) / sim_s if sim_s else float("nan")
        colour = "green" if ev.status == "ok" else "red"
        table.add_row(name, spec.name, f"[{colour}]{ev.status}[/]", f"{ev.metrics.get('score', 0.0):.2f}",
                      f"{rewards[name]:.2f}", "yes" if ev.success else "no",
                      f"{timing.get('compile_s', 0.0) * 1000:.1f}", f"{sim_s * 1000:.1f}", f"{rtf:.0f}",
                      str(len(ev.details.get("damage", []))) if ev.details.get("simulated") else "-")
        stem = out_dir / name
        placed = getattr(getattr(result, "report", None), "machine", None)
        if placed is not None:
            p = spec.params
            stem.with_suffix(".bsg").write_text(to_bsg(placed, name=name))
            stem.with_suffix(".xml").write_text(scene_to_mjcf(placed, get_level(p["task"], p["level"])))
        stem.with_suffix(".feedback.txt").write_text(domain.feedback(ev, "full", spec).text + "\n")
    console.print(table)
    console.print(f"Artefacts in {out_dir}/: .bsg for the game, MJCF .xml for MuJoCo's viewer, feedback text")
    return rewards
