"""`make demo`: check the bundled LEGO examples and run the reference machines; print score tables.

Both parts go through the domain contract (``get_domain(...).task(...)``, ``evaluate_text``), so the
rewards shown are the ones every other consumer (CLI, envs, RL adapters) sees."""

from __future__ import annotations

import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from brickfield.core.evaluation import Evaluation
from brickfield.core.registry import get_domain

OUT_DIR = Path("demo_out")


def lego_demo(console: Console) -> None:
    """Evaluate every bundled LEGO example as a free-design task (reward = valid x stable), write its .ldr
    and print the score table."""
    from brickfield.lego.examples import example_names, example_text
    from brickfield.lego.ldraw import to_ldr
    from brickfield.lego.textformat import parse_structure

    table = Table(title="LEGO: bundled example structures")
    numeric = ("bricks", "reward", "max score", "stability ms")
    for col in ("structure", "bricks", "valid", "stable", "reward", "max score", "stability ms", "problems"):
        table.add_column(col, justify="right" if col in numeric else "left")
    domain = get_domain("lego")
    out = OUT_DIR / "lego"
    out.mkdir(parents=True, exist_ok=True)
    for name in example_names():
        text = example_text(name)
        ev = domain.evaluate_text(text, domain.task(f"demo/{name}", caption=f"the bundled {name} example"))
        (out / f"{name}.ldr").write_text(to_ldr(parse_structure(text), title=name))
        table.add_row(name, str(int(ev.metrics["n_bricks"])), _yes(ev.valid), _yes(ev.details["stable"]),
                      f"{ev.reward:.2f}", f"{ev.metrics.get('max_score') or 0.0:.3f}",
                      f"{ev.timings.get('stability_s', 0.0) * 1000:.1f}", _problems(ev))
    console.print(table)
    console.print(f"LDraw files written to {out}/")


def _problems(ev: Evaluation) -> str:
    """One short line: failing check counts, then the stability failure kinds."""
    counts: dict[str, int] = {}
    for reasons in ev.details["reasons"]:
        for r in reasons:
            counts[r] = counts.get(r, 0) + 1
    parts = [f"{k} x{v}" for k, v in counts.items()]
    stab = ev.details["stability"] or {}
    if stab.get("fail_kinds"):
        parts.append("unstable: " + ",".join(stab["fail_kinds"]))
    return "; ".join(parts)


def _yes(flag: bool) -> str:
    return "[green]yes[/]" if flag else "[red]no[/]"


def machines_demo(console: Console) -> dict[str, float]:
    """Run the machines demo (reference machines on one level of every task) if available; returns
    ``{machine: reward}`` (empty when the machines extra is missing)."""
    try:
        from brickfield.machines.demo import run as run_machines
    except ImportError:
        console.print("(machines demo not available)")
        return {}
    return run_machines(console, OUT_DIR / "machines")


def main() -> int:
    """Run both demos; returns the exit status."""
    # Wide enough for the tables when piped (rich assumes 80 columns without a terminal).
    console = Console(width=None if sys.stdout.isatty() else 140)
    lego_demo(console)
    rewards = machines_demo(console)
    if rewards and rewards.get("fetch") != 1.0:  # the contract's default fetch bindings must hold
        console.print(f"[red]regression: the reference fetch crane scored {rewards.get('fetch')}, not 1.0[/]")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
