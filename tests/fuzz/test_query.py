"""Hostile querier requests: ``parse_query``/``answer_query`` raise only ``QueryError`` with a code from
``QUERY_CODES`` (text, bytes and already-decoded data)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from brickfield.core.textio import short_repr
from brickfield.machines.evaluate import TaskResult, evaluate_machine
from brickfield.machines.feedback.querier import QUERY_CODES, QueryError, answer_query, parse_query
from brickfield.machines.reference import reference_machine
from tests.fuzz._common import (
    FUZZ_EXAMPLES,
    HUGE_NUMBERS,
    TEN_MB,
    deep_list,
    deep_texts,
    expect_typed,
    hostile,
)

SAMPLES = [json.dumps([{"order_id": 10, "duration": [0.2, 1.0], "properties": ["position", "rotation"]},
                       {"order_id": "13", "duration": ["0", 2], "properties": ["length"]}]),
           '<Required Feedback>\n```json\n[{"order_id": 3, "duration": [0, 1],},]\n```\n</Required Feedback>',
           'Sure: {"order_id": 12, "duration": [0, 5], "properties": "speed"} ok']
# function-scoped fixtures would be shared across examples; the trace is read-only here
_SETTINGS = dict(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
FAST = settings(max_examples=100, **_SETTINGS)
LONG = settings(max_examples=FUZZ_EXAMPLES, **_SETTINGS)


@pytest.fixture(scope="module")
def catapult() -> TaskResult:
    return evaluate_machine(reference_machine("catapult"), "catapult")


def query(data: Any, catapult: TaskResult) -> None:
    """Parse and answer ``data``: a QueryError with a known code, or an answer."""
    for clip in (False, True):
        exc = expect_typed(answer_query, data, catapult, clip=clip, error=QueryError)
        assert exc is None or exc.code in QUERY_CODES
    exc = expect_typed(parse_query, data, error=QueryError)
    assert exc is None or exc.code in QUERY_CODES


@FAST
@given(data=hostile(SAMPLES))
def test_hostile_text_and_bytes(data: str | bytes, catapult: TaskResult) -> None:
    query(data, catapult)


@pytest.mark.fuzz
@LONG
@given(data=hostile(SAMPLES))
def test_fuzz_hostile_text_and_bytes(data: str | bytes, catapult: TaskResult) -> None:
    query(data, catapult)


_scalar = st.one_of(st.none(), st.booleans(), st.integers(-2, 20), st.integers(), st.floats(),
                    st.text(st.characters(exclude_categories=()), max_size=6),
                    st.sampled_from(["0\u001f", "\u0663", " 7 ", "1e309", "position", "LENGTH"]),
                    st.sampled_from([400, 5000]).map(lambda k: 10**k))
_value = st.one_of(_scalar, st.lists(_scalar, max_size=3), st.just(deep_list(300)))
_item = st.dictionaries(st.sampled_from(["order_id", "duration", "properties", "x"]), _value, max_size=4)
_decoded = st.one_of(st.lists(st.one_of(_item, _scalar), max_size=5), _item)


@FAST
@given(data=_decoded)
def test_decoded_data(data: Any, catapult: TaskResult) -> None:
    query(data, catapult)


@pytest.mark.fuzz
@LONG
@given(data=_decoded)
def test_fuzz_decoded_data(data: Any, catapult: TaskResult) -> None:
    query(data, catapult)


@pytest.mark.parametrize("depth", [17, 1_000, 200_000])
def test_deep_nesting(depth: int, catapult: TaskResult) -> None:
    for text in deep_texts(depth):
        query(text, catapult)
        query(f"<Required Feedback>{text}</Required Feedback>", catapult)
    query([deep_list(depth)], catapult)
    query([{"order_id": deep_list(depth), "duration": [0, 1]}], catapult)


@pytest.mark.parametrize("number", HUGE_NUMBERS, ids=[short_repr(n, 12) for n in HUGE_NUMBERS])
def test_huge_numbers_in_every_field(number: str, catapult: TaskResult) -> None:
    for text in (f'[{{"order_id": {number}, "duration": [0, 1]}}]',
                 f'[{{"order_id": "{number}", "duration": [0, 1]}}]',
                 f'[{{"order_id": 10, "duration": [{number}, 1]}}]',
                 f'[{{"order_id": 10, "duration": [0, "{number}"]}}]'):
        query(text, catapult)


@pytest.mark.parametrize("data", ["x" * TEN_MB, b"\x00" * TEN_MB, "\ufeff" + "[" * TEN_MB],
                         ids=["x", "nul", "brackets"])
def test_ten_megabytes_refused_as_too_large(data: str | bytes, catapult: TaskResult) -> None:
    exc = expect_typed(parse_query, data, error=QueryError)
    assert exc is not None and exc.code == "too_large"
