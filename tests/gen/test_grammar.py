"""The character-level brick grammar: language, regex and GBNF forms agree with the strict parser."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from brickfield.gen.errors import GenerationError
from brickfield.gen.grammar import LINE_START, BrickGrammar
from brickfield.lego.library import ALLOWED_DIMENSIONS

GRAMMAR = BrickGrammar()
REGEX = re.compile(GRAMMAR.regex())


def _accepts(grammar: BrickGrammar, text: str) -> bool:
    """Whole-text acceptance, allowing line ends mid-text (line by line)."""
    if not text:
        return False
    state = LINE_START
    for ch in text:
        state = grammar.trans[state].get(ch, -1)
        if state < 0:
            return False
    return state == LINE_START


def _line(dim: str, x: int, y: int, z: int) -> str:
    return f"{dim} ({x},{y},{z})\n"


def test_accepts_every_library_size_and_corner_coordinates():
    for dim in ALLOWED_DIMENSIONS:
        for c in (0, 9, 10, 19):
            assert _accepts(GRAMMAR, _line(dim, c, 19 - c, c))


@pytest.mark.parametrize("bad", [
    "3x5 (0,0,0)\n",      # not a library size
    "2x4 (20,0,0)\n",     # outside the 20-grid
    "2x4 (01,0,0)\n",     # leading zero
    "2x4 (0,0,0)",        # no newline
    "2x4 (0, 0,0)\n",     # extra space
    "2x4(0,0,0)\n",       # missing space
    "2x4 (-1,0,0)\n",     # negative
    "\n",                 # blank line
    "",
])
def test_refuses_malformed_lines(bad):
    assert not _accepts(GRAMMAR, bad)
    assert REGEX.fullmatch(bad) is None


def test_run_refuses_a_text_that_crosses_a_line_end():
    assert GRAMMAR.run(LINE_START, "1x1 (0,0,0)\n") == LINE_START
    assert GRAMMAR.run(LINE_START, "1x1 (0,0,0)\n2") is None


def test_states_know_their_field_and_prefix():
    state = GRAMMAR.run(LINE_START, "2x4 (1")
    assert state is not None
    assert (GRAMMAR.info[state].field, GRAMMAR.info[state].prefix) == ("x", "1")
    state = GRAMMAR.run(LINE_START, "2x4 (1,2,")
    assert (GRAMMAR.info[state].field, GRAMMAR.info[state].prefix) == ("z", "")


def test_world_dim_tuple_limits_each_axis():
    g = BrickGrammar((5, 30, 3))
    assert _accepts(g, "1x1 (4,29,2)\n")
    assert not _accepts(g, "1x1 (5,0,0)\n")
    assert not _accepts(g, "1x1 (0,0,3)\n")
    assert re.fullmatch(g.regex(), "1x1 (4,29,2)\n1x1 (0,25,0)\n")


def test_bad_arguments_are_typed_errors():
    with pytest.raises(GenerationError) as e1:
        BrickGrammar(0)
    assert e1.value.code == "bad_world_dim"
    with pytest.raises(GenerationError) as e2:
        BrickGrammar(dims=("3x5",))
    assert e2.value.code == "bad_dims"


def test_gbnf_lists_every_size_and_coordinate():
    text = BrickGrammar(12).gbnf()
    assert text.startswith("root ::= line+")
    assert all(f'"{d}"' in text for d in ALLOWED_DIMENSIONS)
    assert '"11"' in text and '"12"' not in text


_chars = st.sampled_from(sorted(GRAMMAR.alphabet | {"3", "-", "a"}))


@settings(max_examples=300)
@given(st.lists(st.tuples(st.sampled_from((*ALLOWED_DIMENSIONS, "3x5", "2x3")), st.integers(0, 25),
                          st.integers(0, 25), st.integers(0, 25)), min_size=1, max_size=4),
       st.text(_chars, max_size=3))
def test_automaton_regex_and_strict_parser_agree(lines, noise):
    text = "".join(_line(*ln) for ln in lines) + noise
    by_regex = REGEX.fullmatch(text) is not None
    assert _accepts(GRAMMAR, text) == by_regex
    expected = not noise and all(d in ALLOWED_DIMENSIONS and max(x, y, z) < 20 for d, x, y, z in lines)
    assert by_regex == expected
