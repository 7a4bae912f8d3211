"""TaskSpec and Evaluation records: hashing, JSON round trips, reward and success rules."""

import json
import math

import numpy as np
import pytest

from brickfield.core import Evaluation, Limits, RewardSpec, SuccessRule, TaskSpec, TaskSpecError, get_domain
from brickfield.core.evaluation import jsonable


def _spec(**params):
    return TaskSpec.make("lego", "t", params or {"a": 1}, messages=[{"role": "user", "content": "hi"}],
                         reward=RewardSpec((("x", 1.0), ("y", 1.0))))


def test_spec_is_hashable_frozen_and_order_independent():
    a = TaskSpec.make("lego", "t", {"a": 1, "b": [1, 2]})
    b = TaskSpec.make("lego", "t", {"b": [1, 2], "a": 1})
    assert a == b and hash(a) == hash(b) and a.key() == b.key()
    assert {a: 1}[b] == 1
    with pytest.raises(AttributeError):
        a.name = "u"  # type: ignore[misc]
    assert a.params == {"a": 1, "b": [1, 2]}
    a.params["a"] = 99  # a copy: the spec does not change
    assert a.param("a") == 1


def test_spec_json_round_trip_and_key_changes_with_content():
    spec = _spec(level=3)
    back = TaskSpec.from_json(spec.to_json())
    assert back == spec and back.key() == spec.key()
    assert back.chat == [{"role": "user", "content": "hi"}]
    assert spec.with_params(level=4).key() != spec.key()
    assert json.loads(spec.to_json())["id"] == "lego/t"


@pytest.mark.parametrize("bad", ["", "[]", '{"domain": "x"}', '{"schema": 99, "domain": "a", "name": "b"}',
                                 '{"domain": "a", "name": "b", "limits": {"nope": 1}}', "[" * 100_000])
def test_spec_from_json_refuses_bad_records_with_typed_error(bad):
    with pytest.raises(TaskSpecError):
        TaskSpec.from_json(bad)


def test_spec_params_must_be_plain_json():
    with pytest.raises(TaskSpecError):
        TaskSpec.make("lego", "t", {"x": object()})
    with pytest.raises(TaskSpecError):
        TaskSpec.make("lego", "t", {"x": math.nan})


def test_reward_spec_product_and_sum():
    prod = RewardSpec((("valid", 1.0), ("score", 1.0)))
    assert prod.combine_values({"valid": 1.0, "score": 43.0}) == 43.0
    assert prod.combine_values({"valid": 0.0, "score": 43.0}) == 0.0
    pvpo = RewardSpec((("r_phys", 0.5), ("r_vox", 0.5)), "sum")
    assert pvpo.combine_values({"r_phys": 1.0, "r_vox": 0.5}) == pytest.approx(0.75)
    assert RewardSpec.from_dict(pvpo.to_dict()) == pvpo
    assert SuccessRule("score", ">", 0.0).holds(0.1) and not SuccessRule("score", ">", 0.0).holds(0.0)
    assert not SuccessRule().holds(None)


def test_evaluation_scored_reward_status_and_round_trip():
    spec = _spec()
    ok = Evaluation.scored(spec, "ok", components={"x": 1.0, "y": 1.0}, metrics={"m": np.float64(2.0)},
                           details={"arr": np.array([0.5, math.nan])}, timings={"t": 0.1}, handle=object())
    assert ok.reward == 1.0 and ok.valid and ok.success
    assert ok.details["arr"] == [0.5, None] and isinstance(ok.metrics["m"], float)
    d = ok.to_dict()
    assert json.loads(ok.to_json()) == d
    back = Evaluation.from_dict(d)
    assert back == ok and back.handle is None  # the handle is never serialised
    assert "timings" not in ok.to_dict(timings=False)
    bad = Evaluation.scored(spec, "invalid", components={"x": 1.0, "y": 1.0},
                            issues=[{"code": "c", "message": "m"}])
    assert bad.reward == 0.0 and not bad.success and bad.reason == "m" and bad.errors == ["m [c]"]
    err = Evaluation.failed(spec, RuntimeError("boom"))
    assert err.status == "error" and err.reward is None and "boom" in err.reason


def test_equality_ignores_timings_only():
    spec = _spec()
    a = Evaluation.scored(spec, "ok", components={"x": 1.0, "y": 1.0}, timings={"t": 1.0})
    b = Evaluation.scored(spec, "ok", components={"x": 1.0, "y": 1.0}, timings={"t": 2.0})
    c = Evaluation.scored(spec, "ok", components={"x": 1.0, "y": 0.5})
    assert a == b and a != c


def test_limits_round_trip():
    lim = Limits(max_text_chars=10, max_parts=3, sim_seconds=5.0, wall_seconds=1.0)
    assert Limits.from_dict(lim.to_dict()) == lim


def test_jsonable_handles_nested_numpy_and_inf():
    assert jsonable({"a": (np.int64(1), np.inf), 2: [np.array([[1.0]])]}) == {"a": [1, None], "2": [[[1.0]]]}


@pytest.mark.parametrize("domain", ["lego", "machines"])
def test_every_suite_task_round_trips(domain):
    dom = get_domain(domain)
    for spec in dom.tasks("default"):
        assert TaskSpec.from_json(spec.to_json()) == spec
        assert spec.messages and spec.messages[0][0] == "system" and spec.messages[-1][0] == "user"
        assert spec.domain == domain


def test_wrong_task_for_domain_is_a_caller_error():
    with pytest.raises(TypeError):
        get_domain("lego").evaluate_text("2x2 (0,0,0)", get_domain("machines").task("car:1"))
