"""evaluate_many: input order, serial == process pool, hard wall limit, checkpoint callback."""

import json

import pytest

from brickfield.core import Evaluation, Evaluator, evaluate_many, get_domain
from brickfield.core.batch import records_equal
from brickfield.lego.examples import example_text
from brickfield.machines.reference import reference_machine

MACH = get_domain("machines")
LEGO = get_domain("lego")


def _items() -> list:
    car = json.dumps(reference_machine("car"))
    cat = json.dumps(reference_machine("catapult"))
    free = LEGO.task("free", caption="anything")
    return [(car, MACH.task("car:1")), ("nonsense", MACH.task("car:1")), (cat, MACH.task("catapult:1")),
            (json.dumps(reference_machine("fetch")), MACH.task("car:1")),
            (example_text("stairs_9"), free), (example_text("tower"), LEGO.task("tower")),
            ("", free), (car, MACH.task("car:2"))]


def test_process_pool_equals_serial_in_input_order():
    items = _items()
    serial = evaluate_many(items, workers=1)
    pooled = evaluate_many(items, workers=2)
    assert [e.task_id for e in serial] == [t.id for _, t in items]
    assert records_equal(serial, pooled)
    assert [e.to_dict(timings=False) for e in serial] == [e.to_dict(timings=False) for e in pooled]
    assert serial[0].handle is not None and pooled[0].handle is None  # handles stay in the workers
    expected = ["ok", "unparseable", "ok", "invalid", "ok", "ok", "unparseable", "ok"]
    assert [e.status for e in serial] == expected


def test_on_result_sees_every_item_once_and_evaluator_reuse():
    items = _items()[:4]
    seen: dict[int, Evaluation] = {}
    with Evaluator(2) as ev:
        assert ev.start() is ev and ev._pool is not None  # workers up before the first map
        pool = ev._pool
        first = ev.map(items, on_result=lambda i, e: seen.__setitem__(i, e))
        second = evaluate_many(items, evaluator=ev)
        assert ev._pool is pool  # the same workers served both calls
    assert sorted(seen) == [0, 1, 2, 3] and records_equal(first, second)
    assert records_equal([seen[i] for i in range(4)], first)


def test_item_wall_limit_lowers_the_domain_limit():
    car = json.dumps(reference_machine("car"))
    [ev] = evaluate_many([(car, MACH.task("car:1"))], item_wall_s=1e-6)
    assert ev.status == "invalid" and ev.issues[-1]["code"] == "wall_limit"


def test_hard_wall_limit_kills_a_stuck_worker_and_keeps_the_rest(monkeypatch):
    import brickfield.core.batch as batch
    from tests.core._sleepy_domain import DOMAIN

    monkeypatch.setattr(batch, "HARD_LIMIT_GRACE_S", 2.0)
    spec = DOMAIN.task()  # workers import the registered domain's module (Evaluator's initializer)
    items = [("a", spec), ("hang", spec), ("b", spec), ("c", spec)]
    out = evaluate_many(items, workers=2)
    assert [e.status for e in out] == ["ok", "invalid", "ok", "ok"]
    assert out[1].issues[0]["code"] == "wall_limit" and out[1].reward == 0.0


@pytest.mark.parametrize("backend", ["serial", "process"])
def test_backends_and_bad_backend(backend):
    items = _items()[4:6]
    assert records_equal(evaluate_many(items, workers=2, backend=backend), evaluate_many(items))
    with pytest.raises(ValueError):
        evaluate_many(items, backend="ray-not-yet")
