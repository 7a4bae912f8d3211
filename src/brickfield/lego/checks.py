"""Per-brick validity checks with reasons, in BrickGPT's order, and an incremental build state.

Reason codes, in the order BrickGPT's sampler tries them (research/lego_anchors.md §1.2), followed by
the two whole-structure relations:

=================  ===========================================================================
``ill_formatted``  a line the lenient parser flagged as an attempted but malformed brick
``not_in_library`` the `HxW` footprint is not one of the 14 library dimension strings
``out_of_bounds``  some cell lies outside the world grid (default 20x20x20)
``collision``      the brick hits a cell of an earlier *placed* brick in the same layer
``floating``       z > 0 and no occupied cell directly below or above its footprint (BrickGPT's
                   ``brick_floats``; a brick held only from above is supported)
``disconnected``   not connected to the ground layer through stud overlaps
=================  ===========================================================================

Semantics are sequential, like BrickGPT's sampler: a brick failing ``not_in_library``,
``out_of_bounds`` or ``collision`` is *not placed* (it would have been rejected and resampled), so it
neither blocks later bricks nor supports them; ``floating`` and ``disconnected`` are evaluated on the
placed bricks only and are not reported for bricks that were not placed. Every applicable reason is
listed per brick; ``reasons[i][0]`` is the first failure in BrickGPT's order, which is what
:func:`can_add` returns for the same brick appended to the prefix before it.

An empty design is not valid: ``is_valid`` is False and ``fraction_valid`` is 0.0, so an RL policy
cannot earn the physics reward by emitting nothing.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from brickfield.lego.grid import floating_mask, grounded_mask
from brickfield.lego.library import DEFAULT_WORLD_DIM
from brickfield.lego.structure import Brick, Structure, world_dims
from brickfield.lego.textformat import ParsedText

ILL_FORMATTED = "ill_formatted"
NOT_IN_LIBRARY = "not_in_library"
OUT_OF_BOUNDS = "out_of_bounds"
COLLISION = "collision"
FLOATING = "floating"
DISCONNECTED = "disconnected"

#: Every reason code, in BrickGPT's check order.
REASONS: tuple[str, ...] = (ILL_FORMATTED, NOT_IN_LIBRARY, OUT_OF_BOUNDS, COLLISION, FLOATING, DISCONNECTED)
#: The reasons a brick can be rejected for at placement time (what :func:`can_add` checks by default).
PLACEMENT_REASONS: tuple[str, ...] = (NOT_IN_LIBRARY, OUT_OF_BOUNDS, COLLISION)


class BuildState:
    """Incremental occupancy of the bricks placed so far, for constrained decoding.

    ``can_add`` costs O(footprint) (a dict lookup, a few comparisons and one small numpy slice), so
    a decoder can test every candidate brick without rebuilding anything. Only bricks that pass the
    placement checks are ever placed, exactly like BrickGPT's rejection sampler.
    """

    __slots__ = ("bricks", "dims", "occupied")

    def __init__(self, world_dim: int | tuple[int, int, int] = DEFAULT_WORLD_DIM) -> None:
        self.dims: tuple[int, int, int] = world_dims(world_dim)
        self.occupied: np.ndarray = np.zeros(self.dims, dtype=bool)
        self.bricks: list[Brick] = []

    @classmethod
    def from_structure(cls, structure: Structure) -> BuildState:
        """Replay a structure, placing the bricks that pass the placement checks (others skipped)."""
        state = cls(structure.world_dim)
        for b in structure.bricks:
            state.try_add(b)
        return state

    def __len__(self) -> int:
        return len(self.bricks)

    def copy(self) -> BuildState:
        """Independent copy (for branching searches)."""
        other = BuildState(self.dims)
        other.occupied = self.occupied.copy()
        other.bricks = list(self.bricks)
        return other

    def structure(self) -> Structure:
        """The placed bricks as a Structure."""
        return Structure(self.bricks, self.dims)

    def can_add(self, brick: Brick, *, check_floating: bool = False) -> str | None:
        """None if `brick` may be placed now, else the first failing reason code.

        Checks ``not_in_library``, ``out_of_bounds`` and ``collision`` (BrickGPT's per-brick checks).
        With ``check_floating=True`` it also rejects a brick with no placed cell directly below or
        above its footprint (``floating``). Occupancy only grows, so a brick accepted this way can
        never become floating later: a sequence built with it has no floating brick at the end.
        BrickGPT does not check this per brick (only at rollback), hence off by default.
        """
        if brick.type is None:
            return NOT_IN_LIBRARY
        dx, dy, dz = self.dims
        x, y, z, h, w = brick.x, brick.y, brick.z, brick.h, brick.w
        if x < 0 or y < 0 or z < 0 or x + h > dx or y + w > dy or z >= dz:
            return OUT_OF_BOUNDS
        if self.occupied[x:x + h, y:y + w, z].any():
            return COLLISION
        if check_floating and z > 0:
            below = self.occupied[x:x + h, y:y + w, z - 1].any()
            if not below and not (z + 1 < dz and self.occupied[x:x + h, y:y + w, z + 1].any()):
                return FLOATING
        return None

    def try_add(self, brick: Brick, *, check_floating: bool = False) -> str | None:
        """Place `brick` if :meth:`can_add` allows it; return the rejection reason otherwise."""
        reason = self.can_add(brick, check_floating=check_floating)
        if reason is None:
            self.occupied[brick.x:brick.x + brick.h, brick.y:brick.y + brick.w, brick.z] = True
            self.bricks.append(brick)
        return reason

    def add(self, brick: Brick, *, check_floating: bool = False) -> None:
        """Place `brick`; raise ValueError (with the reason) if it cannot be placed."""
        reason = self.try_add(brick, check_floating=check_floating)
        if reason is not None:
            raise ValueError(f"cannot place {brick.to_text()}: {reason}")


def can_add(structure_or_state: Structure | BuildState, brick: Brick, *,
            check_floating: bool = False) -> str | None:
    """None if `brick` can be appended, else the first failing reason code (see BuildState.can_add).

    Passing a Structure replays it first (O(total footprint)); decoders should keep a
    :class:`BuildState` and call its ``can_add`` so each query costs O(footprint).
    """
    state = (structure_or_state if isinstance(structure_or_state, BuildState)
             else BuildState.from_structure(structure_or_state))
    return state.can_add(brick, check_floating=check_floating)


@dataclass
class CheckReport:
    """Per-item validity of a design, in input order.

    An item is a brick, or (when checking a lenient parse) a malformed brick line, which has
    ``bricks[i] is None`` and the single reason ``ill_formatted``. ``lines[i]`` is the input line
    number where known.
    """

    reasons: list[list[str]]
    bricks: list[Brick | None]
    lines: list[int | None] = field(default_factory=list)

    @property
    def n_items(self) -> int:
        """Number of items (bricks and malformed brick lines)."""
        return len(self.reasons)

    @property
    def n_bricks(self) -> int:
        """Number of parsed bricks (items that are not malformed lines)."""
        return sum(b is not None for b in self.bricks)

    @property
    def valid_mask(self) -> np.ndarray:
        """Boolean per item: True when the item passes every check."""
        return np.array([not r for r in self.reasons], dtype=bool)

    @property
    def n_valid(self) -> int:
        """Number of items that pass every check."""
        return sum(not r for r in self.reasons)

    @property
    def counts(self) -> dict[str, int]:
        """Number of items failing each reason (an item may count under several), all codes present."""
        c = Counter(code for r in self.reasons for code in r)
        return {code: c.get(code, 0) for code in REASONS}

    @property
    def first_reasons(self) -> list[str | None]:
        """Per item, the first failing reason in BrickGPT's order, or None if valid."""
        return [r[0] if r else None for r in self.reasons]

    @property
    def is_valid(self) -> bool:
        """At least one item and every item passes all checks."""
        return self.n_items > 0 and self.n_valid == self.n_items

    @property
    def fraction_valid(self) -> float:
        """Valid items / items; 0.0 for an empty design. This is PVPO's R_phys."""
        return self.n_valid / self.n_items if self.n_items else 0.0

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable summary and per-item detail."""
        return {
            "is_valid": self.is_valid,
            "fraction_valid": self.fraction_valid,
            "n_items": self.n_items,
            "n_bricks": self.n_bricks,
            "n_valid": self.n_valid,
            "counts": self.counts,
            "items": [
                {"brick": b.to_text() if b is not None else None, "line": ln, "reasons": list(r)}
                for b, ln, r in zip(self.bricks, self.lines, self.reasons, strict=True)
            ],
        }


def _check_bricks(structure: Structure) -> list[list[str]]:
    state = BuildState(structure.world_dim)
    dims = state.dims
    reasons: list[list[str]] = []
    placed_idx: list[int] = []
    for i, b in enumerate(structure.bricks):
        r: list[str] = []
        if b.type is None:
            r.append(NOT_IN_LIBRARY)
        if not b.in_bounds(dims):
            r.append(OUT_OF_BOUNDS)
        z = b.z
        if 0 <= z < dims[2]:
            x0, x1 = max(b.x, 0), min(b.x + b.h, dims[0])
            y0, y1 = max(b.y, 0), min(b.y + b.w, dims[1])
            if x0 < x1 and y0 < y1 and state.occupied[x0:x1, y0:y1, z].any():
                r.append(COLLISION)
        if not r:
            state.try_add(b)
            placed_idx.append(i)
        reasons.append(r)
    placed = state.structure()
    if len(placed):
        floating = floating_mask(placed)
        grounded = grounded_mask(placed)
        for k, i in enumerate(placed_idx):
            if floating[k]:
                reasons[i].append(FLOATING)
            if not grounded[k]:
                reasons[i].append(DISCONNECTED)
    return reasons


def check_structure(design: Structure | ParsedText) -> CheckReport:
    """Check every brick of a structure (or every item of a lenient parse) and say why each fails.

    With a :class:`ParsedText`, malformed lines (``ParsedText.issues`` with code ``ill_formatted``)
    become items of their own, merged with the bricks in line order, so R_phys counts them as
    invalid. Issues with other codes are ignored here (the parser raises for those).
    """
    if isinstance(design, ParsedText):
        structure = design.structure
        brick_lines: list[int | None] = list(design.line_numbers)
        if len(brick_lines) != len(structure):  # hand-built ParsedText without line numbers
            brick_lines = [None] * len(structure)
        bad_lines = [i.line for i in design.issues if i.code == ILL_FORMATTED]
    else:
        structure = design
        brick_lines = [None] * len(structure)
        bad_lines = []
    brick_reasons = _check_bricks(structure)
    items: list[tuple[float, int, list[str], Brick | None, int | None]] = [
        (ln if ln is not None else float(i), 0, r, b, ln)
        for i, (r, b, ln) in enumerate(zip(brick_reasons, structure.bricks, brick_lines, strict=True))
    ]
    items += [(ln if ln is not None else float("inf"), 1, [ILL_FORMATTED], None, ln) for ln in bad_lines]
    if bad_lines:
        items.sort(key=lambda t: (t[0], t[1]))  # stable: bricks keep their order on equal keys
    return CheckReport([t[2] for t in items], [t[3] for t in items], [t[4] for t in items])
