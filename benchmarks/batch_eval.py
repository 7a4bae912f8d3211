"""evaluate_many: speed-up of the process pool over serial evaluation, and identical records.

64 machine answers (the shipped reference machines and their negative controls on car 1 and
catapult 1, plus unreadable and disallowed-block answers), evaluated serially and with 2 worker
processes in the same run. The pool is started before the clock (start-up and imports are a one-off
cost an RL run or a search pays once: ``Evaluator`` keeps its workers). Prints a table; exits 1 if the
pooled records differ from the serial ones.

    python benchmarks/batch_eval.py [--n 64] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=64)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args(argv)
    items = answers(args.n)
    with Evaluator(1) as serial_ev:
        t0 = time.perf_counter()
        serial = serial_ev.map(items)
        t_serial = time.perf_counter() - t0
    with Evaluator(args.workers) as pool_ev:
        t0 = time.perf_counter()
        pooled = pool_ev.map(items)
        t_pool = time.perf_counter() - t0
    same = records_equal(serial, pooled)
    print(f"{'backend':<18}{'answers':>8}{'seconds':>10}{'answers/s':>11}{'speed-up':>10}")
    print(f"{'serial':<18}{args.n:>8}{t_serial:>10.2f}{args.n / t_serial:>11.1f}{1.0:>10.2f}")
    print(f"{f'process x{args.workers}':<18}{args.n:>8}{t_pool:>10.2f}{args.n / t_pool:>11.1f}"
          f"{t_serial / t_pool:>10.2f}")
    statuses = sorted({e.status for e in serial})
    print(f"records identical to serial: {same} (statuses: {', '.join(statuses)})")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
