"""Speed of the LP stability analysis (brickfield.lego.stability) on generated structures and on the
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
from brickfield.lego.stability import StabilityConfig, analyze_stability
from brickfield.lego.structure import Brick, Structure
from brickfield.lego.textformat import parse_structure

REFERENCE = Path(__file__).resolve().parents[1].parent / "shared/reference/verdicts/lego/stability.jsonl"
SIZES = (10, 50, 100, 300, 1000)
_SHAPES = ((1, 1), (1, 2), (1, 4), (1, 6), (1, 8), (2, 2), (2, 4), (2, 6))


def walls(n: int, length: int = 20) -> Structure:
    """Parallel running-bond walls of 1x4 bricks (1x2 at the ends of odd courses) along y, two
    studs apart, built course by course over all walls and cut at n bricks. Stable by construction."""
    bricks: list[Brick] = []
    for z in range(20):
        for x in range(0, 20, 2):
            ys = list(range(0, length, 4)) if z % 2 == 0 else [0, *range(2, length - 2, 4), length - 2]
            for i, y in enumerate(ys):
                w = 2 if z % 2 and i in (0, len(ys) - 1) else 4
                bricks.append(Brick(1, w, x, y, z))
                if len(bricks) == n:
                    return Structure(bricks)
    raise ValueError(f"walls hold at most {len(bricks)} bricks")


def random_stack(n: int, seed: int = 0) -> Structure:
    """Random library bricks dropped layer by layer, each overlapping the layer below by >= 1 stud
    and colliding with nothing (like the reference's `random` family). Often unstable when tall."""
    rng = np.random.default_rng(seed)
    side = max(8, int(np.ceil(np.sqrt(n) * 1.6)))
    layers = max(4, min(20, n // 8))
    occ = np.zeros((side, side, 20), dtype=bool)
    per_layer = int(np.ceil(n / layers))
    bricks: list[Brick] = []
    for z in range(layers):
        placed = tries = 0
        while placed < per_layer and len(bricks) < n and tries < 5000:
            tries += 1
            a, b = _SHAPES[rng.integers(len(_SHAPES))]
            h, w = (a, b) if rng.random() < 0.5 else (b, a)
            x, y = int(rng.integers(0, side - h + 1)), int(rng.integers(0, side - w + 1))
            if occ[x:x + h, y:y + w, z].any() or (z > 0 and not occ[x:x + h, y:y + w, z - 1].any()):
                continue
            occ[x:x + h, y:y + w, z] = True
            bricks.append(Brick(h, w, x, y, z))
            placed += 1
    return Structure(bricks, world_dim=(side, side, 20))


def solid_block(bond: str = "crossed", layers: int = 20, side: int = 20) -> Structure:
    """A full side x side x layers block of 2x4 bricks. `crossed`: courses alternate 2x4 / 4x2;
    `stacked`: every course the same; `running`: rows of 2x4 along y, odd courses shifted 2 studs
    (2x2 at the row ends), so every brick straddles two below."""
    bricks: list[Brick] = []
    for z in range(layers):
        odd = z % 2 == 1
        if bond == "crossed" and odd:
            bricks += [Brick(4, 2, x, y, z) for x in range(0, side, 4) for y in range(0, side, 2)]
        elif bond == "running" and odd:
            for x in range(0, side, 2):
                bricks += [Brick(2, 2, x, 0, z), *(Brick(2, 4, x, y, z) for y in range(2, side - 2, 4)),
                           Brick(2, 2, x, side - 2, z)]
        else:
            bricks += [Brick(2, 4, x, y, z) for x in range(0, side, 2) for y in range(0, side, 4)]
    return Structure(bricks)


def random_dense(n: int = 1000, seed: int = 0, side: int = 20, layers: int = 20) -> Structure:
    """n random library bricks in a side x side x layers world, n // layers per course, each on
    >= 1 stud of the course below: dense, overhanging, usually stable only through pull forces."""
    rng = np.random.default_rng(seed)
    occ = np.zeros((side, side, layers), dtype=bool)
    bricks: list[Brick] = []
    for z in range(layers):
        placed = tries = 0
        while placed < n // layers and tries < 5000:
            tries += 1
            a, b = _SHAPES[rng.integers(len(_SHAPES))]
            h, w = (a, b) if rng.random() < 0.5 else (b, a)
            x, y = int(rng.integers(0, side - h + 1)), int(rng.integers(0, side - w + 1))
            if occ[x:x + h, y:y + w, z].any() or (z > 0 and not occ[x:x + h, y:y + w, z - 1].any()):
                continue
            occ[x:x + h, y:y + w, z] = True
            bricks.append(Brick(h, w, x, y, z))
            placed += 1
    return Structure(bricks, world_dim=(side, side, 20))


FULL_20 = (  # 20x20x20 worlds
    ("solid 2x4 crossed", lambda: solid_block("crossed")),
    ("solid 2x4 stacked", lambda: solid_block("stacked")),
    ("solid 2x4 running", lambda: solid_block("running")),
    ("random dense", random_dense),
)


def median_time(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def min_time(fn: Callable[[], object], repeats: int) -> float:
    """Fastest of ``repeats`` calls: the cost of the call itself, without the noise of other
    processes on the machine."""
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


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
