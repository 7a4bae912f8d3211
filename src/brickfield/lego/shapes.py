"""Procedural brick structures: deterministic generators for tests, benchmarks and datasets.

Every generator is pure: the same arguments (and seed) give the same structure.
"""

from __future__ import annotations

import numpy as np

from brickfield.lego.library import BRICK_TYPES, DEFAULT_WORLD_DIM
from brickfield.lego.structure import Brick, Structure

_FOOTPRINTS: tuple[tuple[int, int], ...] = tuple((t.short, t.long) for t in BRICK_TYPES)


def staircase(h: int, w: int, n: int) -> Structure:
    """n `h`x`w` bricks, each one layer up and shifted +1 stud along y (overhangs w-1 studs)."""
    return Structure([Brick(h, w, 0, i, i) for i in range(n)])


def walls(n: int, length: int = 20) -> Structure:
    """Parallel running-bond walls of 1x4 bricks (1x2 at the ends of odd courses) along y, two
    studs apart, built course by course over all walls and cut at n bricks. Stable by construction."""
    bricks: list[Brick] = []
    for z in range(DEFAULT_WORLD_DIM):
        for x in range(0, DEFAULT_WORLD_DIM, 2):
            ys = list(range(0, length, 4)) if z % 2 == 0 else [0, *range(2, length - 2, 4), length - 2]
            for i, y in enumerate(ys):
                w = 2 if z % 2 and i in (0, len(ys) - 1) else 4
                bricks.append(Brick(1, w, x, y, z))
                if len(bricks) == n:
                    return Structure(bricks)
    raise ValueError(f"walls hold at most {len(bricks)} bricks")


def solid_block(layers: int = 20, side: int = 20, bond: str = "crossed") -> Structure:
    """A full side x side x layers block of 2x4 bricks. `crossed`: courses alternate 2x4 / 4x2;
    `stacked`: every course the same; `running`: rows of 2x4 along y, odd courses shifted 2 studs
    (2x2 at the row ends), so every brick straddles two below."""
    if bond not in ("crossed", "stacked", "running"):
        raise ValueError(f"bond must be crossed, stacked or running, got {bond!r}")
    bricks: list[Brick] = []
    for z in range(layers):
        if bond == "running" and z % 2:
            for x in range(0, side, 2):
                bricks += [Brick(2, 2, x, 0, z), *(Brick(2, 4, x, y, z) for y in range(2, side - 2, 4)),
                           Brick(2, 2, x, side - 2, z)]
            continue
        h, w = (4, 2) if bond == "crossed" and z % 2 else (2, 4)
        bricks += [Brick(h, w, x, y, z) for x in range(0, side, h) for y in range(0, side, w)]
    return Structure(bricks, world_dim=(side, side, max(layers, DEFAULT_WORLD_DIM)))


def random_stack(n: int, seed: int = 0, side: int | None = None, layers: int | None = None) -> Structure:
    """Random library bricks dropped course by course, each on >= 1 stud of the course below and
    colliding with nothing (like the reference's `random` family; often unstable when tall).

    By default the area grows with n (side ~ 1.6 sqrt(n), at least 8) and n is spread over
    4..20 courses; `side=20, layers=20` fills a standard 20x20x20 world densely.
    """
    rng = np.random.default_rng(seed)
    side = side if side is not None else max(8, int(np.ceil(np.sqrt(n) * 1.6)))
    layers = layers if layers is not None else max(4, min(DEFAULT_WORLD_DIM, n // 8))
    occ = np.zeros((side, side, layers), dtype=bool)
    per_layer = int(np.ceil(n / layers))
    bricks: list[Brick] = []
    for z in range(layers):
        placed = tries = 0
        while placed < per_layer and len(bricks) < n and tries < 5000:
            tries += 1
            a, b = _FOOTPRINTS[rng.integers(len(_FOOTPRINTS))]
            h, w = (a, b) if rng.random() < 0.5 else (b, a)
            x, y = int(rng.integers(0, side - h + 1)), int(rng.integers(0, side - w + 1))
            if occ[x:x + h, y:y + w, z].any() or (z > 0 and not occ[x:x + h, y:y + w, z - 1].any()):
                continue
            occ[x:x + h, y:y + w, z] = True
            bricks.append(Brick(h, w, x, y, z))
            placed += 1
    return Structure(bricks, world_dim=(side, side, max(layers, DEFAULT_WORLD_DIM)))
