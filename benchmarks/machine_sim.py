"""Machine simulation speed: compile time, 5 s episode time vs the bare ``mj_step`` floor on the same
compiled model, real-time factor, and full evaluations per second with 1 and 2 worker processes.

    python benchmarks/machine_sim.py            # full run (~1 min on 2 cores)
    python benchmarks/machine_sim.py --quick    # a few seconds

Rows: the reference car (car level 1) and catapult (catapult level 1, L held), each with the default
``fused`` connections and with every rigid attachment as a breakable weld (``welded``), plus a fused
row with breakage off (no load sensors). ``overhead`` = episode time / floor, where the floor is one
``mujoco.mj_step(m, d, nstep=N)`` call over the same number of steps on the same compiled model
(targets: overhead <= 1.3, real-time factor >= 100 on one core).

A second table has one row per task family at its hardest level (car 5: 20 s S-track; catapult 11:
two rings, ten triggers; delivery 9: U-track with meshes and the ore; fetch 1: 22 s on the
platform, keys, the ore in the well), with the level's world, goal objects, wind and trigger tests
included in the episode time. Its floor steps the episode's own trajectory (``_replay_floor``: one
``mj_step`` call per stretch in which Python changed nothing, grabs and decoupler recompiles
included), so ``overhead`` is what the Python loop costs; the "no-event floor" column is the
earlier measure (bare stepping with only the key switches, ``_floor``), which for machines that
grab or decouple steps a different, cheaper trajectory (the fetch hook never drops or lifts the
ore there).
"""

from __future__ import annotations

import argparse
import copy
import json
import time
from dataclasses import replace

import mujoco
import numpy as np

from brickfield.machines.design.validity import check_machine
from brickfield.machines.levels.registry import get_level
from brickfield.machines.reference import reference_machine
from brickfield.machines.sim.compile import compile_machine
from brickfield.machines.sim.params import DEFAULT_PARAMS
from brickfield.machines.sim.simulate import simulate

MACHINES = (("car", "car"), ("catapult", "catapult"))
HARDEST = (("car", 5, "car"), ("catapult", 11, "catapult"), ("delivery", 9, "car"),
           ("delivery", 9, "delivery"), ("fetch", 1, "car"), ("fetch", 1, "fetch"))
"""(task, level, reference machine) of each family's hardest level. Delivery and fetch run the plain
car (the level world alone: meshes, the ore, triggers) and the task's own reference machine when
one is shipped (grabber, winch, decoupler: their controls add per-step checks)."""
SETTINGS = (("fused", DEFAULT_PARAMS), ("fused, unbreakable", replace(DEFAULT_PARAMS, breakable=False)),
            ("welded", replace(DEFAULT_PARAMS, connection_mode="welded")))


def _best(fn, reps: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def _episodes_per_s(name: str, task: str, workers: int, n: int) -> float:
    """Evaluations per second of one reference machine through ``evaluate_many`` (default physics)."""
    from brickfield.core import Evaluator, get_domain

    dom = get_domain("machines")
    items = [(json.dumps(reference_machine(name)), dom.task(f"{task}:1"))] * n
    with Evaluator(workers) as ev:  # the pool starts (and imports) before the clock starts
        t0 = time.perf_counter()
        ev.map(items)
        return n / (time.perf_counter() - t0)


def run(quick: bool) -> list[dict[str, object]]:
    reps = 3 if quick else 10
    n_eval = 10 if quick else 60
    rows = []
    for name, task in MACHINES:
        level = get_level(task, 1)
        placed = check_machine(reference_machine(name)).machine
        assert placed is not None
        for label, params in SETTINGS:
            obstacles, duration, schedule = level.obstacles, level.duration, level.schedule
            compile_s = _best(lambda pm=placed, p=params, ob=obstacles: compile_machine(pm, p, ob), reps)
            cm = compile_machine(placed, params, obstacles)
            ep = simulate(cm, duration, schedule)
            sim_s = _best(lambda cm=cm, T=duration, s=schedule: simulate(cm, T, s), reps)
            m = cm.model
            held = [k for k in level.schedule.keys if level.schedule.held(k, 0.0)]

            def bare(m: mujoco.MjModel = m, cm=cm, held=held, steps=ep.steps) -> None:  # type: ignore[no-untyped-def]
                d = mujoco.MjData(m)
                d.ctrl[:] = cm.ctrl_for(held)
                t0 = time.perf_counter()
                mujoco.mj_step(m, d, nstep=steps)
                bare.t = time.perf_counter() - t0  # type: ignore[attr-defined]

            floors = []
            for _ in range(reps):
                bare()
                floors.append(bare.t)  # type: ignore[attr-defined]
            floor = min(floors)
            row: dict[str, object] = {
                "machine": name, "setting": label, "nv": m.nv, "steps": ep.steps,
                "compile_ms": compile_s * 1e3, "episode_ms": sim_s * 1e3, "floor_ms": floor * 1e3,
                "overhead": sim_s / floor, "rtf": level.duration / sim_s, "damage": len(ep.damage)}
            if label == "fused":  # evaluations run with the default physics (the task's)
                row["eval_per_s_1"] = _episodes_per_s(name, task, 1, n_eval)
                row["eval_per_s_2"] = _episodes_per_s(name, task, 2, n_eval)
            rows.append(row)
    return rows


def _floor(cm, lvl, steps: int, reps: int, bindings=None) -> float:  # type: ignore[no-untyped-def]
    """Best time of bare ``mj_step`` calls over ``steps`` on ``cm``'s model (fresh data), with the
    level's control inputs switched at the schedule's key times exactly as in the episode (so a key
    script such as fetch's drives the same motion), but no checks, triggers or recording. Grabs and
    decouplers never happen here, so for machines that use them this steps a different (usually
    cheaper) trajectory than the episode: see ``_replay_floor``."""
    from brickfield.machines.sim.controls import MachineControls

    dt = cm.model.opt.timestep
    cuts = sorted({round(t / dt) for t in lvl.schedule.switch_times() if 0 < round(t / dt) < steps})
    best = float("inf")
    for _ in range(reps):
        # a private model: coasting wheels' gains are edited in it (as ``simulate`` does), and
        # MachineControls reads the servo gains from the shared one
        m = copy.copy(cm.model)
        d = mujoco.MjData(m)
        ctl = MachineControls(cm, lvl.schedule, bindings, lvl.wheels_automatic)
        cm.apply_world_forces(d)
        ctl.apply(m, d, 0.0)
        t0 = time.perf_counter()
        done = 0
        for cut in [*cuts, steps]:
            mujoco.mj_step(m, d, nstep=cut - done)
            done = cut
            if done < steps:
                ctl.apply(m, d, done * dt)
        best = min(best, time.perf_counter() - t0)
    return best


class _StepRecorder:
    """Stands in for the ``mujoco`` module inside ``brickfield.machines.sim.simulate`` and records every
    ``mj_step`` call: the model, the state before and after, and the model arrays Python edits
    during an episode (grab poses, coasting wheels' gains)."""

    SPEC = mujoco.mjtState.mjSTATE_INTEGRATION

    def __init__(self) -> None:
        self.calls: list[tuple[mujoco.MjModel, tuple, int, tuple]] = []

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(mujoco, name)

    @classmethod
    def state(cls, m: mujoco.MjModel, d: mujoco.MjData) -> tuple:  # type: ignore[type-arg]
        vec = np.empty(mujoco.mj_stateSize(m, cls.SPEC))
        mujoco.mj_getState(m, d, vec, cls.SPEC)
        return vec, m.eq_data.copy(), m.actuator_gainprm.copy(), m.actuator_biasprm.copy()

    def mj_step(self, m: mujoco.MjModel, d: mujoco.MjData, nstep: int = 1) -> None:
        before = self.state(m, d)
        mujoco.mj_step(m, d, nstep=nstep)
        self.calls.append((m, before, nstep, self.state(m, d)))


def _replay_floor(episode, reps: int) -> float:  # type: ignore[no-untyped-def]
    """Best time of bare ``mj_step`` over the episode's own trajectory. ``episode()`` is run once
    with its ``mj_step`` calls recorded; each maximal run of calls between which Python changed
    nothing (state, controls, model arrays, the model itself) is replayed as one
    ``mj_step(m, d, nstep=N)`` from the recorded state (restoring it is not timed). Grabs,
    decoupler recompiles and key switches thus happen in the floor too, at the same steps."""
    import brickfield.machines.sim.simulate as sim

    rec = _StepRecorder()
    sim.mujoco = rec  # type: ignore[assignment]
    try:
        episode()
    finally:
        sim.mujoco = mujoco
    segments: list[list] = []   # type: ignore[type-arg]
    last = None
    for m, before, n, after in rec.calls:
        same = last is not None and last[0] is m and all(
            np.array_equal(a, b) for a, b in zip(last[1], before, strict=True))
        if same:
            segments[-1][2] += n
        else:
            segments.append([m, before, n])
        last = (m, after)
    replay = {id(m): copy.copy(m) for m, _, _ in segments}   # the models Python may still edit
    datas = {k: mujoco.MjData(mm) for k, mm in replay.items()}
    best = float("inf")
    for _ in range(reps):
        total = 0.0
        for m, (vec, eq_data, gain, bias), n in segments:
            mm, d = replay[id(m)], datas[id(m)]
            mm.eq_data[:], mm.actuator_gainprm[:], mm.actuator_biasprm[:] = eq_data, gain, bias
            mujoco.mj_setState(mm, d, vec, _StepRecorder.SPEC)
            t0 = time.perf_counter()
            mujoco.mj_step(mm, d, nstep=n)
            total += time.perf_counter() - t0
        best = min(best, total)
    return best


def run_levels(quick: bool) -> list[dict[str, object]]:
    """One row per task family at its hardest level (see ``HARDEST``)."""
    from brickfield.machines.reference import REFERENCE_MACHINES
    from brickfield.machines.scoring import level_scorer
    from brickfield.machines.sim.controls import REFERENCE_BINDINGS

    reps = 3 if quick else 10
    rows = []
    for task, number, name in HARDEST:
        if name not in REFERENCE_MACHINES:
            continue
        lvl = level_scorer(task, number).level
        placed = check_machine(reference_machine(name)).machine
        assert placed is not None
        placed = lvl.place(placed)
        compile_s = _best(lambda pm=placed, lv=lvl: compile_machine(pm, DEFAULT_PARAMS, level=lv), reps)
        cm = compile_machine(placed, DEFAULT_PARAMS, level=lvl)

        keys = REFERENCE_BINDINGS.get(name)   # e.g. the fetch crane's decoupler on V

        def episode(cm=cm, lv=lvl, keys=keys):  # type: ignore[no-untyped-def]
            return simulate(cm, lv.duration, lv.schedule, wheels_automatic=lv.wheels_automatic,
                            bindings=keys)

        ep = episode()
        sim_s = _best(episode, reps)
        floor = _replay_floor(episode, reps)
        plain = _floor(cm, lvl, ep.steps, reps, keys)
        score = level_scorer(task, number).score(ep).score
        rows.append({"level": lvl.name, "machine": name, "sim_s": ep.sim_time, "nv": cm.model.nv,
                     "ngeom": cm.model.ngeom, "triggers": len(lvl.triggers), "steps": ep.steps,
                     "compile_ms": compile_s * 1e3, "episode_ms": sim_s * 1e3, "floor_ms": floor * 1e3,
                     "overhead": sim_s / floor, "plain_floor_ms": plain * 1e3,
                     "plain_overhead": sim_s / plain, "rtf": ep.sim_time / sim_s, "score": score})
    return rows


def _print(rows: list[dict[str, object]], cols: tuple[str, ...], head: tuple[str, ...]) -> None:
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for r in rows:
        cells = []
        for c in cols:
            v = r.get(c, "-")
            cells.append(f"{v:.2f}" if isinstance(v, float) else str(v))
        print("| " + " | ".join(cells) + " |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repetitions and evaluations")
    ap.add_argument("--levels-only", action="store_true", help="only the hardest-level table")
    args = ap.parse_args()
    if not args.levels_only:
        _main_table(args.quick)
        print()
    print("hardest level of each task family (reference machine; level world, objects, wind and "
          "triggers included)")
    _print(run_levels(args.quick),
           ("level", "machine", "sim_s", "nv", "ngeom", "triggers", "steps", "compile_ms", "episode_ms",
            "floor_ms", "overhead", "plain_floor_ms", "plain_overhead", "rtf", "score"),
           ("level", "machine", "simulated s", "nv", "geoms", "triggers", "steps", "compile ms",
            "episode ms", "mj_step floor ms", "overhead", "no-event floor ms", "overhead vs it",
            "real-time x", "score"))


def _main_table(quick: bool) -> None:
    rows = run(quick)
    cols = ("machine", "setting", "nv", "steps", "compile_ms", "episode_ms", "floor_ms", "overhead",
            "rtf", "eval_per_s_1", "eval_per_s_2")
    head = ("machine", "setting", "nv", "steps", "compile ms", "5s episode ms", "mj_step floor ms",
            "overhead", "real-time x", "evals/s 1 proc", "evals/s 2 procs")
    p = DEFAULT_PARAMS
    print(f"timestep {p.timestep} s, breakage check every {p.break_check_every} steps, samples every "
          "0.2 s; evals/s = parse + validity + placement + compile + simulate + score")
    _print(rows, cols, head)


if __name__ == "__main__":
    main()
