"""Speed of the LP stability analysis (brickfield.lego.stability.solve) on generated structures and on the
80 BrickGPT reference cases.

For each size the table gives the median wall time of one `analyze_stability` call (model build +
solve + scoring) and, measured in the same run, the median time of the cheap connectivity check
`grid.grounded_mask` (occupancy grid + connected components) as a baseline. Below the size sweep,
full 20x20x20 structures: solid blocks of 2x4 bricks (the acceptance case, >= 1000 bricks) and a
random dense stack that needs pull forces, i.e. the LP. The "solver" column says what produced the
scores: `press-only` (an exact zero-cost solution, no LP), or the LP solver. The reference section
times every reference case (fastest of 15 calls, by size) and compares with BrickGPT's Gurobi
analysis (12.7 ms median per solved structure on a 2-vCPU VM, from the reference README). Pin it to
one core for stable numbers: `taskset -c 1 .venv/bin/python benchmarks/lego_stability.py`.

    .venv/bin/python benchmarks/lego_stability.py [--quick] [--solver clarabel|highs]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from brickfield.lego.grid import grounded_mask
from brickfield.lego.shapes import random_stack, solid_block, walls
from brickfield.lego.stability.solve import StabilityConfig, analyze_stability
from brickfield.lego.textformat import parse_structure

REFERENCE = Path(__file__).resolve().parents[1].parent / "shared/reference/verdicts/lego/stability.jsonl"
SIZES = (10, 50, 100, 300, 1000)
FULL_20 = (  # 20x20x20 worlds
    ("solid 2x4 crossed", lambda: solid_block(bond="crossed")),
    ("solid 2x4 stacked", lambda: solid_block(bond="stacked")),
    ("solid 2x4 running", lambda: solid_block(bond="running")),
    ("random dense", lambda: random_stack(1000, seed=0, side=20, layers=20)),
)


def call_times(fn: Callable[[], object], repeats: int) -> list[float]:
    """Wall time of each of ``repeats`` calls."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def median_time(fn: Callable[[], object], repeats: int) -> float:
    return statistics.median(call_times(fn, repeats))


def min_time(fn: Callable[[], object], repeats: int) -> float:
    """Fastest of ``repeats`` calls: the cost of the call itself, without the noise of other
    processes on the machine."""
    return min(call_times(fn, repeats))


def generated_table(cfg: StabilityConfig, sizes: tuple[int, ...], repeats: int, console: Console) -> None:
    table = Table(title=f"analyze_stability vs grounded_mask (median of {repeats}, solver {cfg.solver}); "
                        "solid / random dense: full 20x20x20 worlds")
    for col in ("structure", "bricks", "model vars", "solver", "stable", "max score", "stability ms",
                "grounded ms", "ratio"):
        table.add_column(col, justify="left" if col in ("structure", "solver") else "right")
    rows = [(family, lambda n=n, make=make: make(n))
            for family, make in (("walls", walls), ("random stack", random_stack)) for n in sizes]
    for family, make in (*rows, *FULL_20):
        s = make()
        res = analyze_stability(s, cfg)  # warm-up, and the row's verdict
        t_stab = median_time(lambda s=s: analyze_stability(s, cfg), repeats)
        t_conn = median_time(lambda s=s: grounded_mask(s), max(repeats, 5))
        n_vars = res.model.n_vars if res.model is not None else 0
        table.add_row(family, str(len(s)), str(n_vars), res.solver, "yes" if res.stable else "no",
                      f"{res.max_score:.3f}", f"{t_stab * 1e3:.1f}", f"{t_conn * 1e3:.2f}",
                      f"{t_stab / t_conn:.0f}x")
    console.print(table)


SIZE_BUCKETS = ((1, 2), (3, 5), (6, 10), (11, 15), (16, 20), (21, 30))


def reference_section(cfg: StabilityConfig, repeats: int, console: Console) -> None:
    if not REFERENCE.exists():
        console.print(f"(reference cases not found at {REFERENCE}; skipped)")
        return
    cases = [json.loads(line) for line in REFERENCE.read_text().splitlines() if line.strip()]
    ours, agree = [], 0
    for case in cases:
        s = parse_structure(case["bricks"])
        res = analyze_stability(s, cfg)
        agree += res.stable == case["stable"]
        ours.append(min_time(lambda s=s: analyze_stability(s, cfg), repeats))
    ours_arr = np.array(ours)
    solved = np.array([case["seconds"] is not None for case in cases])  # collisions: no reference time
    theirs = np.array([case["seconds"] for case in cases if case["seconds"] is not None])
    ratio = theirs / ours_arr[solved]
    sizes = np.array([case["n_bricks"] for case in cases])
    table = Table(title=f"BrickGPT reference cases, fastest of {repeats} calls per case (1-30 bricks)")
    for col in ("", "cases", "median ms", "max ms", "total s"):
        table.add_column(col, justify="left" if not col else "right")
    rows = [(f"brickfield ({cfg.solver}), all cases", ours_arr),
            (f"brickfield ({cfg.solver}), solved cases", ours_arr[solved]),
            *((f"  {lo}-{hi} bricks", ours_arr[(sizes >= lo) & (sizes <= hi)]) for lo, hi in SIZE_BUCKETS),
            ("BrickGPT + Gurobi (reference README), solved", theirs)]
    for label, t in rows:
        table.add_row(label, str(t.size), f"{np.median(t) * 1e3:.2f}", f"{t.max() * 1e3:.2f}",
                      f"{t.sum():.3f}")
    console.print(table)
    speedup = np.median(theirs) / np.median(ours_arr[solved])
    console.print(f"verdicts matched {agree}/{len(cases)}; median vs the reference median "
                  f"({np.median(theirs) * 1e3:.2f} ms): {speedup:.1f}x faster; per-case speed-up median "
                  f"{np.median(ratio):.1f}x (min {ratio.min():.1f}x). Reference times are from a different "
                  "machine (2-vCPU EPYC VM), medians of 3 runs.")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="one repeat (3 per reference case), sizes up to 300")
    ap.add_argument("--solver", choices=("clarabel", "highs"), default="clarabel")
    args = ap.parse_args()
    cfg = StabilityConfig(solver=args.solver, fallback=False)
    repeats = 1 if args.quick else 5
    sizes = tuple(n for n in SIZES if n <= 300) if args.quick else SIZES
    console = Console(width=120)
    generated_table(cfg, sizes, repeats, console)
    reference_section(cfg, 3 if args.quick else 15, console)


if __name__ == "__main__":
    main()
