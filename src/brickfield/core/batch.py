"""`evaluate_many`: (answer text, TaskSpec) pairs in, Evaluations out, in input order.

Backends: ``serial`` (this process; evaluations keep their in-process ``handle``) and ``process`` (a
pool of spawned worker processes; handles are dropped because episodes stay in the worker). Both give
records equal to the serial ones (``Evaluation.__eq__`` ignores timings and handles). The process
backend enforces a hard per-item wall limit on top of the domain's own (soft) one: an item that
overruns it is recorded as ``invalid`` with issue ``wall_limit`` and its worker is replaced, so one
pathological answer cannot stall a run. A Ray backend plugs in behind the same :class:`Evaluator`.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from collections.abc import Callable, Iterable, Sequence
from multiprocessing.pool import AsyncResult, Pool

from brickfield.core.evaluation import Evaluation
from brickfield.core.registry import domain_modules, get_domain
from brickfield.core.task import TaskSpec

__all__ = ["BACKENDS", "Evaluator", "evaluate_many", "evaluate_one", "records_equal"]

BACKENDS = ("auto", "serial", "process")
HARD_LIMIT_GRACE_S = 30.0
"""Seconds past an item's wall limit before the process backend kills its worker."""

Item = tuple[str | bytes, TaskSpec]
OnResult = Callable[[int, Evaluation], None]


def evaluate_one(text: str | bytes, task: TaskSpec) -> Evaluation:
    """Evaluate one answer through its task's domain (never raises on model text)."""
    return get_domain(task.domain).evaluate_text(text, task)


def _import_domains(modules: Sequence[str]) -> None:
    """Worker initializer: register every domain the parent had (plugin domains included)."""
    import importlib

    for name in modules:
        if name != "__main__":
            importlib.import_module(name)


def _ready(_: int) -> bool:
    return True


def _evaluate_in_worker(text: str | bytes, task: TaskSpec) -> Evaluation:
    ev = evaluate_one(text, task)
    ev.handle = None  # rich results (episodes, LP solutions) stay in the worker
    return ev


def _wall_limit_record(task: TaskSpec, limit: float) -> Evaluation:
    return Evaluation.scored(task, "invalid", issues=[{
        "code": "wall_limit", "message": f"evaluation exceeded the hard wall limit of {limit:g} s"}])


def _with_wall(task: TaskSpec, item_wall_s: float | None) -> TaskSpec:
    if item_wall_s is None:
        return task
    from dataclasses import replace

    current = task.limits.wall_seconds
    wall = item_wall_s if current is None else min(current, item_wall_s)
    return replace(task, limits=replace(task.limits, wall_seconds=wall))


class Evaluator:
    """A reusable evaluator: keeps its worker pool alive across calls (``with Evaluator(2) as ev``).

    ``workers <= 1`` (or ``backend="serial"``) evaluates in this process."""

    def __init__(self, workers: int = 1, backend: str = "auto") -> None:
        if backend not in BACKENDS:
            raise ValueError(f"unknown backend {backend!r}; choose from {BACKENDS}")
        self.workers = max(1, int(workers))
        serial = backend == "serial" or (backend == "auto" and self.workers == 1)
        self.backend = "serial" if serial else "process"
        self._pool: Pool | None = None

    def __enter__(self) -> Evaluator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the worker processes (idempotent)."""
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()
            self._pool = None

    def start(self) -> Evaluator:
        """Start the worker processes now (imports included) rather than on the first ``map``, so
        that their start-up is paid before a timed or wall-limited run. A no-op for ``serial``."""
        if self.backend == "process":
            self._get_pool()
        return self

    def _get_pool(self) -> Pool:
        if self._pool is None:
            # spawn: workers must not inherit threads (BLAS, MuJoCo, tokenizers) from the parent
            self._pool = mp.get_context("spawn").Pool(self.workers, _import_domains, (domain_modules(),))
            # wait for the workers' start-up (imports) so that it never counts against a wall limit
            self._pool.map(_ready, range(self.workers), chunksize=1)
        return self._pool

    def map(self, items: Iterable[Item], *, item_wall_s: float | None = None,
            on_result: OnResult | None = None) -> list[Evaluation]:
        """Evaluate ``items`` in input order; ``on_result(index, evaluation)`` sees each one as it is
        stored (checkpoint there to lose no finished work)."""
        work = [(text, _with_wall(task, item_wall_s)) for text, task in items]
        if self.backend == "serial":
            out = []
            for i, (text, task) in enumerate(work):
                out.append(evaluate_one(text, task))
                if on_result:
                    on_result(i, out[-1])
            return out
        return self._map_process(work, on_result)

    def _map_process(self, work: Sequence[Item], on_result: OnResult | None) -> list[Evaluation]:
        results: list[Evaluation | None] = [None] * len(work)
        pending = list(range(len(work)))
        while pending:
            pool = self._get_pool()
            asyncs: dict[int, AsyncResult[Evaluation]] = {
                i: pool.apply_async(_evaluate_in_worker, work[i]) for i in pending}
            timed_out = None
            for i in pending:
                task = work[i][1]
                limit = (task.limits.wall_seconds or 3600.0) + HARD_LIMIT_GRACE_S
                try:
                    results[i] = asyncs[i].get(timeout=limit)
                except mp.TimeoutError:
                    results[i], timed_out = _wall_limit_record(task, limit), i
                except Exception as exc:  # a worker that died or an unpicklable result
                    results[i] = Evaluation.failed(task, exc, "worker")
                if on_result:
                    on_result(i, results[i])  # type: ignore[arg-type]
                if timed_out is not None:
                    break
            if timed_out is None:
                break
            # keep what already finished, replace the stuck worker, resubmit the rest
            for j in pending:
                if results[j] is None and asyncs[j].ready() and asyncs[j].successful():
                    results[j] = asyncs[j].get()
                    if on_result:
                        on_result(j, results[j])  # type: ignore[arg-type]
            self.close()
            pending = [j for j in pending if results[j] is None]
        return results  # type: ignore[return-value]


def evaluate_many(items: Iterable[Item], *, workers: int = 1, backend: str = "auto",
                  item_wall_s: float | None = None, on_result: OnResult | None = None,
                  evaluator: Evaluator | None = None) -> list[Evaluation]:
    """Evaluate (answer text, TaskSpec) pairs, in input order, on ``workers`` processes.

    ``workers=0`` means one per CPU. ``item_wall_s`` lowers every item's wall limit. Pass a long-lived
    ``evaluator`` to reuse its worker pool across calls (searches call this once per generation)."""
    if evaluator is not None:
        return evaluator.map(items, item_wall_s=item_wall_s, on_result=on_result)
    n = (os.cpu_count() or 1) if workers == 0 else workers
    with Evaluator(n, backend) as ev:
        return ev.map(items, item_wall_s=item_wall_s, on_result=on_result)


def records_equal(a: Sequence[Evaluation], b: Sequence[Evaluation]) -> bool:
    """Whether two result lists agree record for record (timings and handles ignored)."""
    return len(a) == len(b) and all(x == y for x, y in zip(a, b, strict=True))

