"""Environment querier: parsing tolerance, every error code, answers equal to the trace, fuzzing."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.spatial.transform import Rotation

from brickfield.core.errors import ParseError
from brickfield.machines.evaluate import TaskResult, evaluate_machine
from brickfield.machines.feedback.querier import (
    QUERY_CODES,
    QueryError,
    QueryLimits,
    QueryRequest,
    answer_query,
    parse_query,
    validate_query,
)
from brickfield.machines.reference import reference_machine

BAND = 13   # the catapult's rubber band (parents: wooden block 8, arm log 10)
ARM = 10


@pytest.fixture(scope="module")
def catapult() -> TaskResult:
    return evaluate_machine(reference_machine("catapult"), "catapult")


def _req(*items: dict) -> str:
    return json.dumps(list(items))


# --- parsing -----------------------------------------------------------------------------------------
def test_parses_the_reference_querier_output() -> None:
    text = """<Thought Process>
The arm [order 10] may hit the base; check it and the band.
</Thought Process>
<Required Feedback>
```json
[
    {
        "order_id": 10,
        "duration": [0.0, 1.0],
        "properties": ["position", "rotation", "velocity"],
    },
    {"order_id": "13", "duration": ["0", 2], "properties": ["length"],},
]
```
</Required Feedback>"""
    req = parse_query(text)
    assert [it.to_dict() for it in req.items] == [
        {"order_id": 10, "duration": [0.0, 1.0], "properties": ["position", "rotation", "velocity"]},
        {"order_id": 13, "duration": [0.0, 2.0], "properties": ["length"]}]
    assert QueryRequest.parse(text) == req


@pytest.mark.parametrize("source", [
    '{"order_id": 3, "duration": [0, 1], "properties": "Orientation"}',
    'Sure! Here: [{"order_id": 3, "duration": [0, 1], "properties": ["ROTATION", "rot"]}] hope it helps',
    '```[{"order_id": 3, "duration": [0, 1], "properties": ["rotation"]}]```',
    '<required_feedback>[{"order_id": 3.0, "duration": [0, 1], "properties": ["quaternion"]}]',
    '{"required_feedback": [{"order_id": 3, "duration": [0, 1], "properties": ["rotation"]}]}',
    b'[{"order_id": 3, "duration": [0, 1], "properties": ["rotation"]}]',
    [{"order_id": 3, "duration": (0, 1), "properties": ["rotation"]}],
])
def test_tolerant_parsing(source: object) -> None:
    (item,) = parse_query(source).items   # type: ignore[arg-type]
    assert (item.order_id, item.start, item.end, item.properties) == (3, 0.0, 1.0, ("rotation",))


def test_missing_properties_means_all_that_apply(catapult: TaskResult) -> None:
    req = parse_query(_req({"order_id": ARM, "duration": [0, 1]}, {"order_id": BAND, "duration": [0, 1]}))
    assert all(it.properties is None for it in req.items)
    arm, band = answer_query(req, catapult).items
    assert arm.position and arm.rotation and arm.velocity and arm.length is None
    assert band.position and band.velocity and band.length and band.rotation is None


# --- answers equal the trace -------------------------------------------------------------------------
def test_answers_equal_the_trace(catapult: TaskResult) -> None:
    ep = catapult.episode
    req = _req({"order_id": ARM, "duration": [0.2, 1.0], "properties": ["position", "rotation", "velocity"]},
               {"order_id": 12, "duration": [0, 5], "properties": ["velocity"]})
    arm, boulder = answer_query(req, catapult).items
    sel = np.arange(1, 6)                                   # 0.2, 0.4, ..., 1.0 s
    assert arm.name == "Log" and arm.type_id == "63" and len(arm.times) == 5
    assert np.allclose(arm.times, ep.times[sel])
    assert np.array_equal(np.array(arm.position), ep.positions[sel, ARM])
    assert np.array_equal(np.array(arm.rotation), ep.rotations[sel, ARM])
    assert np.array_equal(np.array(arm.velocity), ep.velocities[sel, ARM])
    assert np.allclose(arm.speed, np.linalg.norm(ep.velocities[sel, ARM], axis=1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")        # gimbal lock warnings of scipy
        ref = Rotation.from_quat(ep.rotations[sel, ARM]).as_euler("xyz", degrees=True)
    assert np.allclose(Rotation.from_euler("xyz", arm.euler, degrees=True).as_matrix(),
                       Rotation.from_euler("xyz", ref, degrees=True).as_matrix(), atol=1e-9)
    assert arm.facing is not None and set(arm.facing) <= {"x-", "x+", "y-", "y+", "z-", "z+"}
    assert len(boulder.times) == 26 and boulder.position is None and boulder.rotation is None
    assert max(boulder.speed) == pytest.approx(catapult.metrics["max_speed"])


def test_length_follows_both_parents(catapult: TaskResult) -> None:
    ep, placed = catapult.episode, catapult.report.machine
    band = placed.blocks[BAND]
    pa, pb = (placed.blocks[i] for i in band.parents)

    def carried(parent, point):      # a point fixed in a parent block, through the trace (scipy)
        off = Rotation.from_quat(parent.rotation).inv().apply(np.subtract(point, parent.position))
        return ep.positions[:, parent.index] + Rotation.from_quat(ep.rotations[:, parent.index]).apply(off)

    # the trace records end A; rebuilding it from parent A's pose validates the convention
    assert np.allclose(carried(pa, band.position), ep.positions[:, BAND], atol=1e-6)
    expected = np.linalg.norm(carried(pb, band.position_b) - carried(pa, band.position), axis=1)
    (ans,) = answer_query(_req({"order_id": BAND, "duration": [0, 5], "properties": ["length"]}),
                          catapult).items
    assert np.allclose(ans.length, expected, atol=1e-6)
    assert ans.length[0] == pytest.approx(np.linalg.norm(np.subtract(band.position_b, band.position)))
    assert ans.length[-1] < ans.length[0] - 1.0          # the band contracted
    text = answer_query(_req({"order_id": BAND, "duration": [0, 1], "properties": ["length"]}), catapult).text
    assert "Rubber Band (order_id 13, type 9), 0-1 s, 6 samples" in text and "0.0s 5.10" in text


def test_answer_text_dict_and_determinism(catapult: TaskResult) -> None:
    req = _req({"order_id": ARM, "duration": [0, 0.4]})
    a, b = answer_query(req, catapult), answer_query(req, catapult.episode, catapult.report.machine)
    assert a == b and a.to_dict() == json.loads(json.dumps(a.to_dict()))
    assert a.text.startswith("[Required feedback]\nBlock Log (order_id 10, type 63), 0-0.4 s, 3 samples")
    for head in ("- position (x, y, z) m:", "- rotation: quaternion", "- velocity (vx, vy, vz)"):
        assert head in a.text
    assert answer_query("[]", catapult).text == "[Required feedback] nothing requested"


def test_clip_accepts_durations_past_the_end(catapult: TaskResult) -> None:
    req = _req({"order_id": 0, "duration": [4.5, 9.0], "properties": ["position"]})
    with pytest.raises(QueryError) as exc:
        answer_query(req, catapult)
    assert exc.value.code == "bad_duration"
    (item,) = answer_query(req, catapult, clip=True).items
    assert item.end == pytest.approx(5.0) and len(item.times) == 3


# --- errors ---------------------------------------------------------------------------------------------
ERRORS = {
    "bad_json": "no json here, sorry",
    "bad_schema": _req({"order_id": [1], "duration": [0, 1]}),
    "unknown_order_id": _req({"order_id": 99, "duration": [0, 1]}),
    "bad_duration": _req({"order_id": 1, "duration": [2, 1]}),
    "unknown_property": _req({"order_id": 1, "duration": [0, 1], "properties": ["mass"]}),
    "not_applicable": _req({"order_id": 1, "duration": [0, 1], "properties": ["length"]}),
    "too_many_items": _req(*[{"order_id": 1, "duration": [0, 1]}] * 17),
    "too_deep": "[" * 17 + "]" * 17,
    "too_large": "x" * 20_001,
}


@pytest.mark.parametrize("code", QUERY_CODES)
def test_every_error_code(code: str, catapult: TaskResult) -> None:
    with pytest.raises(QueryError) as exc:
        answer_query(ERRORS[code], catapult)
    assert exc.value.code == code and isinstance(exc.value, ParseError)
    assert f"[{code}]" in str(exc.value)


@pytest.mark.parametrize(("source", "code"), [
    ('[{"order_id": 1, "duration": [-1, 1]}]', "bad_duration"),
    ('[{"order_id": 1, "duration": [0, NaN]}]', "bad_duration"),
    ('[{"order_id": 1, "duration": [6, 7]}]', "bad_duration"),             # outside the episode
    ('[{"order_id": 1, "duration": [0.05, 0.1]}]', "bad_duration"),         # between two samples
    ('[{"order_id": 1, "duration": [0, 1, 2]}]', "bad_schema"),
    ('[{"order_id": 1}]', "bad_schema"),
    ('[{"duration": [0, 1]}]', "bad_schema"),
    ('[{"order_id": true, "duration": [0, 1]}]', "bad_schema"),
    ('[{"order_id": 1, "duration": [0, 1], "properties": []}]', "bad_schema"),
    ('[{"order_id": 1, "duration": [0, 1], "properties": [3]}]', "bad_schema"),
    ('[1, 2]', "bad_schema"),
    ('"just a string"', "bad_schema"),
    (f'[{{"order_id": {BAND}, "duration": [0, 1], "properties": ["rotation"]}}]', "not_applicable"),
    ('x' * 20_001, "too_large"),
    (b'[' + b' ' * 80_000 + b']', "too_large"),
    (b'\xff\xfe', "bad_json"),
    ('[' * 5000, "too_deep"),
    ('[{"order_id": "0\\u001f", "duration": [0, 1]}]', "bad_schema"),   # \s matched U+001F, int() not
    ('[{"order_id": "\\u0663", "duration": [0, 1]}]', "bad_schema"),    # Arabic-Indic digit three
    ('[{"order_id": 1e9, "duration": [0, 1]}]', "bad_schema"),
    ('[{"order_id": 1, "duration": [1e400, 1]}]', "bad_duration"),
    ('[{"order_id": 1, "duration": [0, Infinity]}]', "bad_duration"),
])
def test_more_errors(source: str | bytes, code: str, catapult: TaskResult) -> None:
    with pytest.raises(QueryError) as exc:
        answer_query(source, catapult)
    assert exc.value.code == code


def test_hostile_decoded_data_gives_typed_errors() -> None:
    deep: list = []
    for _ in range(50_000):     # str() of this would raise RecursionError
        deep = [deep]
    for item, code in (({"order_id": deep, "duration": [0, 1]}, "bad_schema"),
                       ({"order_id": 10**5000, "duration": [0, 1]}, "bad_schema"),
                       ({"order_id": 1, "duration": [10**400, 1]}, "bad_schema"),
                       ({"order_id": 1, "duration": [0, 1], "properties": [deep]}, "bad_schema")):
        with pytest.raises(QueryError) as exc:
            parse_query([item])
        assert exc.value.code == code and len(str(exc.value)) < 300


def test_byte_order_mark_and_lone_surrogates_are_accepted() -> None:
    text = _req({"order_id": 3, "duration": [0, 1], "properties": ["position"]})
    assert parse_query("\ufeff" + text) == parse_query(text) == parse_query(b"\xef\xbb\xbf" + text.encode())
    with pytest.raises(QueryError) as exc:
        parse_query('[{"order_id": "\ud800", "duration": [0, 1]}]')
    assert exc.value.code == "bad_schema"


def test_all_problems_are_listed_and_budget_enforced(catapult: TaskResult) -> None:
    bad = _req({"order_id": 99, "duration": [0, 1]},
               {"order_id": 1, "duration": [0, 1], "properties": ["length"]})
    with pytest.raises(QueryError) as exc:
        answer_query(bad, catapult)
    assert [i.code for i in exc.value.issues] == ["unknown_order_id", "not_applicable"]
    assert [i.item for i in exc.value.issues] == [0, 1]
    big = _req(*[{"order_id": k, "duration": [0, 5]} for k in range(5)])     # 5 x 26 x 3 values
    with pytest.raises(QueryError) as exc:
        answer_query(big, catapult, limits=QueryLimits(max_values=300))
    assert exc.value.code == "too_many_items"
    validate_query(parse_query(big), catapult)                                  # fits the default
    no_trace = TaskResult("car_level1", False, 0.0, 0.0)
    with pytest.raises(QueryError) as exc:
        answer_query(_req({"order_id": 0, "duration": [0, 1]}), no_trace)
    assert exc.value.code == "not_applicable"
    ep_only = catapult.episode
    with pytest.raises(QueryError) as exc:      # length needs the placed machine
        answer_query(_req({"order_id": BAND, "duration": [0, 1], "properties": ["length"]}), ep_only)
    assert exc.value.code == "not_applicable"


# --- fuzzing --------------------------------------------------------------------------------------------
_FRAGMENTS = st.sampled_from(['<Required Feedback>', '</Required Feedback>', '```json', '```', '[', ']', '{',
                              '}', ',', ':', '"order_id"', '"duration"', '"properties"', '"position"',
                              '"length"', '"rotation"', '0', '1', '13', '-1', '2.5', '1e309', 'NaN', '"3"',
                              'null', 'true', ' ', '\n'])
_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
                     lambda inner: st.lists(inner, max_size=4)
                     | st.dictionaries(st.sampled_from(["order_id", "duration", "properties", "x"]), inner,
                                       max_size=4), max_leaves=20)


@settings(max_examples=300, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=300) | st.lists(_FRAGMENTS, max_size=40).map("".join))
def test_fuzz_text_only_raises_query_errors(text: str, catapult: TaskResult) -> None:
    try:
        answer = answer_query(text, catapult, clip=True)
    except QueryError as exc:
        assert exc.code in QUERY_CODES
    else:
        assert isinstance(answer.text, str)


@settings(max_examples=300, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=_JSON)
def test_fuzz_decoded_json_only_raises_query_errors(data: object, catapult: TaskResult) -> None:
    for source in (data, json.dumps(data)):
        try:
            answer_query(source, catapult)        # type: ignore[arg-type]
        except QueryError as exc:
            assert exc.code in QUERY_CODES
