"""Offline designers: best and mean reward against simulations and wall time, evolutionary search vs
random search (the baseline, measured in the same run with the same budget, workers and seed).

    python benchmarks/offline_search.py                 # car:1 (capped and uncapped), catapult:1
    python benchmarks/offline_search.py --quick         # 300 simulations per run (~3 min on 2 cores)
    python benchmarks/offline_search.py --tasks delivery:1 --budget 1000

Every run starts from the bare starting block. Rows are checkpoints (the first generation at or past
each number of simulations). ``evo best``/``rand best`` are the best rewards so far, ``evo mean`` the
mean reward of the evolutionary population, ``rand mean`` the mean over all random designs so far,
``ratio`` = evo best / rand best. ``car:1 capped`` rules out designs whose root ever exceeds 21 m/s
(twice a powered wheel's rim speed), i.e. machines that win by stacking many rotors
(``SearchConfig.metric_caps``); the uncapped run shows what the simulator allows without it.
Goals: car beats the paper's best reported 5 s car (45.72 m), catapult scores above zero.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass, field

import numpy as np

from brickfield.agents.offline import CachedEvaluator, DesignSpace, RandomDesigner, SearchConfig, evolve
from brickfield.agents.offline.evolution import GenerationStats

PAPER_BEST_CAR_M = 45.72
CAR_CAP = {"max_speed": 21.0}
CHECKPOINTS = (100, 250, 500, 1000, 1500, 2000, 3000, 4000, 5000)


@dataclass
class Run:
    """One task setting: evolution history, random-search history, best designs and their metrics."""

    label: str
    task: str
    caps: dict[str, float]
    evo: list[GenerationStats] = field(default_factory=list)
    rand: list[tuple[int, float, float, float]] = field(default_factory=list)  # (evals, wall, best, mean)
    best_metrics: dict[str, float] = field(default_factory=dict)
    best_text: str = ""


def random_search(task: str, budget: int, workers: int, seed: int, caps: dict[str, float],
                  batch: int) -> list[tuple[int, float, float, float]]:
    """Random designs (the search's generation-0 sampler) evaluated in batches; returns one
    (simulations, wall s, best so far, mean so far) row per batch."""
    space = DesignSpace.for_task(task)
    designer = RandomDesigner(space, 3, 12)
    rng = np.random.default_rng(seed)
    rows, rewards, t0 = [], [], time.perf_counter()
    with CachedEvaluator(space.spec, workers) as ev:
        while ev.simulations < budget:
            texts: dict[str, None] = {}
            for _ in range(20 * batch):
                if len(texts) >= min(batch, budget - ev.simulations):
                    break
                text = designer.sample(rng).to_text()
                if text not in ev:
                    texts[text] = None
            if not texts:
                break
            for o in ev.evaluate(list(texts)):
                over = any(o.metrics.get(k, 0.0) > v for k, v in caps.items())
                rewards.append(0.0 if over else o.reward)
            rows.append((ev.simulations, time.perf_counter() - t0, max(rewards), float(np.mean(rewards))))
    return rows


def run(label: str, task: str, budget: int, workers: int, seed: int, caps: dict[str, float]) -> Run:
    out = Run(label, task, caps)
    cfg = SearchConfig(budget=budget, seed=seed, workers=workers, metric_caps=dict(caps))
    result = evolve(task, cfg, on_generation=out.evo.append)
    out.best_metrics = dict(result.best_outcome.metrics)
    out.best_text = result.best_text
    out.rand = random_search(task, budget, workers, seed, caps, cfg.population)
    return out


def _first(counts: list[int], at: int) -> int | None:
    """Index of the first row with at least ``at`` simulations."""
    return next((i for i, n in enumerate(counts) if n >= at), None)


def table(r: Run, budget: int) -> list[str]:
    head = ("simulations", "evo wall s", "evo best", "evo mean", "rand wall s", "rand best", "rand mean",
            "ratio")
    lines = [f"### {r.label} ({r.task}{', caps ' + json.dumps(r.caps) if r.caps else ''})", "",
             "| " + " | ".join(head) + " |", "|" + "---:|" * len(head)]
    marks = [c for c in CHECKPOINTS if c < budget] + [budget]
    for c in marks:
        i, j = _first([h.evaluations for h in r.evo], c), _first([row[0] for row in r.rand], c)
        if i is None or j is None:
            continue
        e, (_, rw, rb, rm) = r.evo[i], r.rand[j]
        ratio = f"{e.best / rb:.2f}" if rb > 0 else "inf" if e.best > 0 else "-"
        cells = (str(e.evaluations), f"{e.wall_s:.1f}", f"{e.best:.2f}", f"{e.mean:.2f}", f"{rw:.1f}",
                 f"{rb:.2f}", f"{rm:.2f}", ratio)
        lines.append("| " + " | ".join(cells) + " |")
    m = r.best_metrics
    lines.append("")
    lines.append(f"best design: {int(m.get('n_blocks', 0))} blocks, score {m.get('score', 0):.2f}, "
                 + ", ".join(f"{k} {v:.2f}" for k, v in m.items() if k in ("max_speed", "max_height",
                                                                           "distance")))
    if r.task.startswith("car"):
        first = next((h for h in r.evo if h.best > PAPER_BEST_CAR_M), None)
        lines.append(f"beats {PAPER_BEST_CAR_M} m: " + (f"yes, at {first.evaluations} simulations / "
                                                          f"{first.wall_s:.1f} s" if first else "no"))
    else:
        first = next((h for h in r.evo if h.best > 0), None)
        lines.append("scores > 0: " + (f"yes, at {first.evaluations} simulations / {first.wall_s:.1f} s"
                                       if first else "no"))
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].replace("\n", " "))
    ap.add_argument("--quick", action="store_true", help="300 simulations per run")
    ap.add_argument("--budget", type=int, default=3000, help="simulations per run (default 3000)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tasks", default="car:1,car:1!,catapult:1",
                    help="comma-separated; a trailing ! runs the task uncapped (car:1 is capped by default)")
    ap.add_argument("--json", dest="json_out", default=None, help="also write the raw histories here")
    args = ap.parse_args()
    budget = 300 if args.quick else args.budget
    runs = []
    for name in args.tasks.split(","):
        task = name.rstrip("!")
        caps = CAR_CAP if task.startswith("car") and not name.endswith("!") else {}
        label = f"{task} {'capped' if caps else 'uncapped'}"
        runs.append(run(label, task, budget, args.workers, args.seed, caps))
        print("\n".join(table(runs[-1], budget)), "\n", flush=True)
    if args.json_out:
        with open(args.json_out, "w", encoding="utf-8") as fh:
            json.dump([{"label": r.label, "task": r.task, "caps": r.caps, "best_text": r.best_text,
                        "best_metrics": r.best_metrics, "evo": [h.to_dict() for h in r.evo],
                        "rand": r.rand} for r in runs], fh, indent=1)


if __name__ == "__main__":
    main()
