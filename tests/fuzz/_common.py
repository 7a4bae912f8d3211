"""Hostile-input families shared by the parser fuzz tests, and the check every parser must pass.

The families are the ones that found real bugs: random bytes, random unicode including lone
surrogates, truncations and small mutations of valid inputs, huge or non-finite numbers spliced
into valid inputs, deep nesting and 10 MB inputs. Each test runs them derandomised with the suite's
profile (``tests/conftest.py``); the ``@pytest.mark.fuzz`` variants run ``FUZZ_EXAMPLES`` each.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from brickfield.core.errors import ParseError

FUZZ_EXAMPLES = int(os.environ.get("HYPOTHESIS_FUZZ_EXAMPLES", "20000"))
"""Examples per long (``fuzz``-marked) test."""
LONG = settings(max_examples=FUZZ_EXAMPLES, suppress_health_check=list(HealthCheck))
FAST = settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

TEN_MB = 10_000_000
MAX_MESSAGE = 2_000   # an error message never echoes a hostile input back in full

# Lone surrogates are excluded from st.characters() by default; a Python str can hold them.
any_char = st.characters(exclude_categories=())
unicode_text = st.text(any_char, max_size=300)
random_bytes = st.binary(max_size=400)

HUGE_NUMBERS = ("1e308", "-1e308", "1e309", "1e400", "-1e400", "1" + "0" * 400, "9" * 5000, "NaN",
                "Infinity", "-Infinity", "nan", "inf", "-0", "0x10", "1_0", "\u0663", "1e-400",
                "4.9e-324", "1" * 30)
"""Numbers (and near-numbers) spliced into valid inputs: overflow, NaN/Infinity literals, int-to-str
limits (Python refuses more than 4300 digits), other scripts' digits."""
JUNK = ("\ufeff", "\x00", "\u001f", "\ud800", "\udfff", "[", "{", "]]]]", "}}", "(", ")", '"', "'", ",",
        "\n", "\r", "<", ">", "&", "&amp;", "<!DOCTYPE x>", "]]>", "```", "\\", "\\u0000", "𝟘")

_junk = st.one_of(st.sampled_from(JUNK), st.sampled_from(HUGE_NUMBERS), st.text(any_char, max_size=6))
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


def truncations(samples: Sequence[str]) -> st.SearchStrategy[str]:
    """A valid sample cut at any point."""
    return st.sampled_from(list(samples)).flatmap(
        lambda s: st.integers(0, len(s)).map(lambda k: s[:k]))


@st.composite
def mutations(draw: st.DrawFn, samples: Sequence[str]) -> str:
    """A valid sample with one short slice replaced by junk, a hostile number or random text."""
    s = draw(st.sampled_from(list(samples)))
    i = draw(st.integers(0, len(s)))
    j = draw(st.integers(i, min(len(s), i + 12)))
    junk = draw(_junk)
    return s[:i] + junk + s[j:]


@st.composite
def huge_numbers(draw: st.DrawFn, samples: Sequence[str]) -> str:
    """A valid sample with one or more of its numbers replaced by a hostile one."""
    s = draw(st.sampled_from(list(samples)))
    spans = [m.span() for m in _NUMBER.finditer(s)]
    if not spans:
        return s
    picks = sorted(set(draw(st.lists(st.integers(0, len(spans) - 1), min_size=1, max_size=3))), reverse=True)
    for k in picks:   # right to left, so earlier spans stay valid
        i, j = spans[k]
        s = s[:i] + draw(st.sampled_from(HUGE_NUMBERS)) + s[j:]
    return s


def hostile(samples: Sequence[str]) -> st.SearchStrategy[Any]:
    """Every text family at once: random unicode/bytes, truncations, mutations, hostile numbers, and
    the same encoded as bytes (with a BOM sometimes)."""
    text = st.one_of(unicode_text, truncations(samples), mutations(samples), huge_numbers(samples))
    as_bytes = st.tuples(text, st.booleans()).map(
        lambda t: (b"\xef\xbb\xbf" if t[1] else b"") + t[0].encode("utf-8", "surrogatepass"))
    return st.one_of(text, random_bytes, as_bytes)


def deep_texts(depth: int) -> list[str]:
    """Deeply nested JSON and Python-literal texts of ``depth`` levels (closed and unclosed)."""
    return ["[" * depth, "[" * depth + "]" * depth, '{"a":' * depth + "1" + "}" * depth,
            "[(" * depth, "[{'id': " * depth, '[{"order_id": ' * depth]


def deep_list(depth: int) -> list[Any]:
    """An already-decoded list nested ``depth`` levels deep (``str`` of it recurses). Inside a
    Hypothesis strategy keep it a few hundred deep: Hypothesis cannot print a deeper one when it
    reports a failure; the explicit deep-nesting tests go to 200,000."""
    out: list[Any] = []
    for _ in range(depth):
        out = [out]
    return out


def expect_typed(fn: Callable[..., Any], *args: Any, error: type[Exception] = ParseError,
                 **kwargs: Any) -> Exception | None:
    """Call ``fn``; it may only return or raise ``error`` with a code and a bounded message."""
    try:
        fn(*args, **kwargs)
    except error as exc:
        code = getattr(exc, "code", None)
        assert isinstance(code, str) and code, f"{type(exc).__name__} without a code"
        assert 0 < len(str(exc)) <= MAX_MESSAGE, f"message of {len(str(exc))} characters"
        return exc
    return None
