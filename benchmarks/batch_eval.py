"""evaluate_many: speed-up of the process pool over serial evaluation, and identical records.

64 machine answers (the shipped reference machines and their negative controls on car 1 and
catapult 1, plus unreadable and disallowed-block answers), evaluated serially and with 2 worker
processes in the same run. Worker start-up (spawn and imports, about a second) is a one-off cost an RL
run or a search pays once, since ``Evaluator`` keeps its workers: it is paid before the clock
(``Evaluator.start``) and printed on its own line. Each backend then evaluates the batch once untimed
(warm caches on both sides) and ``--rounds`` times timed, the two backends taking turns round by
round; the table shows the median round. Prints a
table; exits 1 if any pooled record differs from the serial one.

    python benchmarks/batch_eval.py [--n 64] [--workers 2] [--rounds 7]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

from brickfield.core import Evaluator, get_domain
from brickfield.core.batch import records_equal
from brickfield.machines.reference import reference_machine

MIX = (("car", "car:1"), ("catapult", "catapult:1"), ("car_wheels_down", "car:1"),
       ("car_no_wheels", "car:1"), ("catapult_no_boulder", "catapult:1"), ("delivery", "car:1"),
       ("fetch", "car:1"), ("car", "catapult:1"))


def answers(n: int) -> list[tuple[str, object]]:
    """``n`` (answer text, TaskSpec) pairs cycling through ``MIX`` and two unreadable answers."""
    dom = get_domain("machines")
    pool = [(json.dumps(reference_machine(m)), dom.task(t)) for m, t in MIX]
    pool += [("no machine here", dom.task("car:1")), ("```json\n[{\"id\": \"0\"}]\n```", dom.task("car:1"))]
    return [pool[i % len(pool)] for i in range(n)]


def timed_rounds(evaluators: list[Evaluator], items: list, rounds: int) -> list[tuple[float, list]]:
    """One untimed warm-up map per evaluator, then ``rounds`` timed maps, interleaving the evaluators
    round by round so that drifts of the machine's speed hit all of them alike. Returns, per
    evaluator, the median wall time and the last records."""
    for ev in evaluators:
        ev.map(items)
    times: list[list[float]] = [[] for _ in evaluators]
    out: list[list] = [[] for _ in evaluators]
    for _ in range(rounds):
        for k, ev in enumerate(evaluators):
            t0 = time.perf_counter()
            out[k] = ev.map(items)
            times[k].append(time.perf_counter() - t0)
    return [(statistics.median(t), o) for t, o in zip(times, out, strict=True)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=64)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=7, help="timed rounds per backend (median shown)")
    args = ap.parse_args(argv)
    items = answers(args.n)
    with Evaluator(1) as serial_ev, Evaluator(args.workers) as pool_ev:
        t0 = time.perf_counter()
        pool_ev.start()
        t_start = time.perf_counter() - t0
        (t_serial, serial), (t_pool, pooled) = timed_rounds([serial_ev, pool_ev], items, args.rounds)
    same = records_equal(serial, pooled)
    print(f"{'backend':<18}{'answers':>8}{'seconds':>10}{'answers/s':>11}{'speed-up':>10}")
    print(f"{'serial':<18}{args.n:>8}{t_serial:>10.2f}{args.n / t_serial:>11.1f}{1.0:>10.2f}")
    print(f"{f'process x{args.workers}':<18}{args.n:>8}{t_pool:>10.2f}{args.n / t_pool:>11.1f}"
          f"{t_serial / t_pool:>10.2f}")
    print(f"worker start-up (once per Evaluator, not in the table): {t_start:.2f} s")
    statuses = sorted({e.status for e in serial})
    print(f"records identical to serial: {same} (statuses: {', '.join(statuses)})")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
