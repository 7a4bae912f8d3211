"""The brick-line grammar as a character-level automaton, plus its regex and GBNF forms.

One line is ``DIM " (" X "," Y "," Z ")\\n"`` where DIM is one of the library's 14 ``HxW`` strings and
X, Y, Z are decimal integers (no leading zeros) inside the world grid: ``0 <= x < dx`` and so on. A
whole answer is one or more lines. The automaton is a trie per field glued together by the literals;
every state knows which field it is typing and the characters typed so far, which is what the
semantic ("fast") masks need. State :data:`LINE_START` is both the start and the state after each
``\\n``.

It is deliberately small (about 90 states on a 20^3 grid) and built in plain Python: the token-level
automaton (:mod:`brickfield.gen.automaton`) runs every candidate token of a vocabulary through it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from brickfield.gen.errors import GenerationError
from brickfield.lego.library import ALLOWED_DIMENSIONS, DEFAULT_WORLD_DIM, brick_type
from brickfield.lego.structure import world_dims

LINE_START = 0
#: The fields of a line, in the order they are written.
FIELDS: tuple[str, ...] = ("dim", "x", "y", "z")
_LITERALS: tuple[str, ...] = (" (", ",", ",", ")\n")  # the literal after each field


@dataclass(frozen=True, slots=True)
class CharState:
    """Where a character state sits in a line: the field being typed (None inside a literal) and
    the characters of that field typed so far."""

    field: str | None
    prefix: str


def _numbers(n: int) -> tuple[str, ...]:
    return tuple(str(v) for v in range(n))


class BrickGrammar:
    """Character DFA of brick lines on a ``world_dim`` grid (an int is a cube).

    Attributes:
        dims: the allowed ``HxW`` strings.
        values: per field, the allowed value strings.
        trans: per state, ``{char: next state}``.
        info: per state, its :class:`CharState`.
        alphabet: every character the grammar uses.
    """

    def __init__(self, world_dim: int | Sequence[int] = DEFAULT_WORLD_DIM,
                 dims: Sequence[str] = ALLOWED_DIMENSIONS) -> None:
        try:
            self.world_dim: tuple[int, int, int] = world_dims(world_dim)
        except (ValueError, TypeError) as exc:
            raise GenerationError("bad_world_dim", str(exc)) from None
        for d in dims:
            h, _, w = d.partition("x")
            if not (h.isdigit() and w.isdigit() and brick_type(int(h), int(w))):
                raise GenerationError("bad_dims", f"{d!r} is not a library brick size")
        if not dims:
            raise GenerationError("bad_dims", "no brick sizes allowed")
        dx, dy, dz = self.world_dim
        self.dims: tuple[str, ...] = tuple(dims)
        self.values: dict[str, tuple[str, ...]] = {
            "dim": self.dims, "x": _numbers(dx), "y": _numbers(dy), "z": _numbers(dz)}
        self.trans: list[dict[str, int]] = []
        self.info: list[CharState] = []
        self._build()
        self.alphabet: frozenset[str] = frozenset(c for t in self.trans for c in t)

    # -- construction ---------------------------------------------------------------------------

    def _new(self, field: str | None, prefix: str) -> int:
        self.trans.append({})
        self.info.append(CharState(field, prefix))
        return len(self.trans) - 1

    def _build(self) -> None:
        # Field tries first, so each field's root exists before the literal before it links to it.
        roots: list[dict[str, int]] = []
        self._new("dim", "")  # LINE_START: the root of the dim trie
        for f in FIELDS:
            nodes = {"": LINE_START if f == "dim" else self._new(f, "")}
            for v in self.values[f]:
                for k in range(1, len(v) + 1):
                    if v[:k] not in nodes:
                        nodes[v[:k]] = self._new(f, v[:k])
                        self.trans[nodes[v[:k - 1]]][v[k - 1]] = nodes[v[:k]]
            roots.append(nodes)
        for i, f in enumerate(FIELDS):
            lit = _LITERALS[i]
            nxt = roots[i + 1][""] if i + 1 < len(FIELDS) else LINE_START
            # The literal's inner states (after its first k characters), then its end -> next field.
            chain = [self._new(None, lit[:k]) for k in range(1, len(lit))] + [nxt]
            for k in range(1, len(lit)):
                self.trans[chain[k - 1]][lit[k]] = chain[k]
            for v in self.values[f]:
                self.trans[roots[i][v]][lit[0]] = chain[0]

    # -- queries --------------------------------------------------------------------------------

    @property
    def n_states(self) -> int:
        """Number of character states."""
        return len(self.trans)

    def run(self, state: int, text: str) -> int | None:
        """The state after reading ``text`` from ``state``, None if the grammar refuses it.

        A text may end a line only with its last character: passing through :data:`LINE_START`
        mid-text is refused, so every line boundary is also a token boundary (the decoder rolls
        back to line starts).
        """
        for i, ch in enumerate(text):
            state = self.trans[state].get(ch, -1)
            if state < 0 or (state == LINE_START and i != len(text) - 1):
                return None
        return state

    def regex(self) -> str:
        """A regex for one or more lines (valid in Python, xgrammar and Rust-regex dialects)."""
        def alt(values: Sequence[str]) -> str:
            return "|".join(sorted(values, key=lambda v: (-len(v), v)))

        x, y, z = (f"(?:{alt(self.values[f])})" for f in FIELDS[1:])
        return f"(?:(?:{alt(self.dims)}) \\({x},{y},{z}\\)\\n)+"

    def gbnf(self) -> str:
        """The same language as a GBNF/EBNF grammar (llama.cpp, xgrammar, SGLang ``ebnf``)."""
        def alt(values: Sequence[str]) -> str:
            return " | ".join(f'"{v}"' for v in values)

        return "\n".join([
            "root ::= line+",
            'line ::= dim " (" cx "," cy "," cz ")\\n"',
            f"dim ::= {alt(self.dims)}",
            *(f"c{f} ::= {alt(self.values[f])}" for f in FIELDS[1:]),
        ]) + "\n"
