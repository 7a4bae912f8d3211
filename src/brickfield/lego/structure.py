"""Bricks and structures: the immutable data model every LEGO check, score and export works on.

Conventions (BrickGPT): a brick `HxW (x,y,z)` spans x..x+H-1 along x, y..y+W-1 along y, and sits in
layer z (1 unit tall). (x, y, z) is the min-corner stud cell. `ori` is 1 when H > W.
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from brickfield.core.errors import InvalidArgumentError
from brickfield.core.textio import short_repr
from brickfield.lego.library import DEFAULT_WORLD_DIM, BrickType, brick_type


@dataclass(frozen=True, slots=True)
class Brick:
    """One brick: footprint `h` (along x) by `w` (along y) at min-corner cell (x, y, z)."""

    h: int
    w: int
    x: int
    y: int
    z: int

    @property
    def ori(self) -> int:
        """StableLego orientation: 1 when the long side runs along x (h > w), else 0."""
        return 1 if self.h > self.w else 0

    @property
    def type(self) -> BrickType | None:
        """The library type of the footprint, None if it is not a library brick."""
        return brick_type(self.h, self.w)

    @property
    def dims(self) -> str:
        """The ``HxW`` string."""
        return f"{self.h}x{self.w}"

    @property
    def area(self) -> int:
        """Footprint in stud cells."""
        return self.h * self.w

    def cells(self) -> Iterator[tuple[int, int, int]]:
        """Every (x, y, z) voxel the brick occupies."""
        for i in range(self.x, self.x + self.h):
            for j in range(self.y, self.y + self.w):
                yield (i, j, self.z)

    def to_text(self) -> str:
        """The BrickGPT line ``HxW (x,y,z)`` (no newline)."""
        return f"{self.h}x{self.w} ({self.x},{self.y},{self.z})"

    def in_bounds(self, world_dim: int | Sequence[int] = DEFAULT_WORLD_DIM) -> bool:
        """Every cell of the brick lies inside the grid (and the footprint is not empty)."""
        # Not world_dims(): this runs per brick in the checks, on sizes validated once already.
        dx, dy, dz = (world_dim,) * 3 if isinstance(world_dim, int) else world_dim
        return (self.x >= 0 and self.y >= 0 and self.z >= 0 and self.x + self.h <= dx
                and self.y + self.w <= dy and self.z < dz and self.h > 0 and self.w > 0)

    def __str__(self) -> str:
        return self.to_text()


MAX_WORLD_DIM = 256
"""Largest grid size per axis any structure may use (a 256^3 grid is 16 MB of voxels; the checks and
voxel metrics allocate several arrays of that size). Raise it here, or pass ``max_dim`` to
:func:`world_dims`, for bigger worlds."""


def world_dims(world_dim: int | Sequence[int], max_dim: int | None = None) -> tuple[int, int, int]:
    """A grid size as three ints in [1, ``max_dim``] (default ``MAX_WORLD_DIM``); an int is a cube.

    Raises ``InvalidArgumentError`` (a ValueError): ``bad_world_dim`` for anything that is not one or three
    positive integers, ``world_too_large`` above the limit (a 10,000-wide grid would otherwise end in
    a MemoryError deep inside voxelisation).
    """
    limit = MAX_WORLD_DIM if max_dim is None else max_dim
    shown = _shown(world_dim)
    if isinstance(world_dim, (bool, str, bytes)):
        raise InvalidArgumentError("bad_world_dim", f"world_dim must be an int or 3 ints, got {shown}")
    try:
        dims = (operator.index(world_dim),) * 3 if not isinstance(world_dim, Iterable) else \
            tuple(_dim(d) for d in itertools.islice(world_dim, 4))
    except (TypeError, ValueError, OverflowError):
        dims = ()
    if len(dims) != 3 or min(dims) <= 0:
        raise InvalidArgumentError("bad_world_dim", f"world_dim must be 3 positive sizes, got {shown}")
    if max(dims) > limit:
        raise InvalidArgumentError("world_too_large",
                                   f"world_dim {_shown(dims)} is over the limit of {limit} per axis")
    return dims  # type: ignore[return-value]


def _shown(value: object) -> str:
    """A bounded repr of a world size (never recurses, never fails on a 5,000-digit int)."""
    if isinstance(value, (list, tuple)) and len(value) <= 4:
        inner = ", ".join(short_repr(v, 20) for v in value)
        return f"[{inner}]" if isinstance(value, list) else f"({inner})"
    return short_repr(value)


def _dim(value: object) -> int:
    """One grid size: an int, or a float/numpy value equal to one (``20.0``); never a bool."""
    if isinstance(value, bool):
        raise TypeError("bool")
    try:
        return operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        f = float(value)  # type: ignore[arg-type]
        if not f.is_integer():
            raise ValueError(f"{f} is not an integer") from None
        return int(f)


@dataclass(frozen=True)
class Structure:
    """An ordered sequence of bricks on a grid (default 20x20x20). Order is the generation order."""

    bricks: tuple[Brick, ...]
    world_dim: tuple[int, int, int] = (DEFAULT_WORLD_DIM,) * 3

    def __init__(self, bricks: Iterable[Brick] = (), world_dim: int | Sequence[int] = DEFAULT_WORLD_DIM):
        object.__setattr__(self, "bricks", tuple(bricks))
        object.__setattr__(self, "world_dim", world_dims(world_dim))

    def __len__(self) -> int:
        return len(self.bricks)

    def __iter__(self) -> Iterator[Brick]:
        return iter(self.bricks)

    def __getitem__(self, i: int) -> Brick:
        return self.bricks[i]

    def to_text(self) -> str:
        """BrickGPT text: one `HxW (x,y,z)` per line, newline-terminated (empty string if no bricks)."""
        return "".join(b.to_text() + "\n" for b in self.bricks)

    def with_brick(self, brick: Brick) -> Structure:
        """A new structure with `brick` appended (same grid)."""
        return Structure((*self.bricks, brick), self.world_dim)

    def arrays(self) -> np.ndarray:
        """(N, 5) int array of h, w, x, y, z."""
        if not self.bricks:
            return np.zeros((0, 5), dtype=np.int64)
        return np.array([(b.h, b.w, b.x, b.y, b.z) for b in self.bricks], dtype=np.int64)

    def masses(self) -> np.ndarray:
        """Mass per brick in kg (NaN for bricks not in the library)."""
        return np.array([t.mass_kg if (t := b.type) else np.nan for b in self.bricks], dtype=float)
