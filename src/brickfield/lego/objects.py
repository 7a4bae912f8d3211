"""Parametric objects for the procedural LEGO dataset: voxel shapes with captions.

Each category builder draws its parameters (sizes, proportions, optional parts) from a seeded
``numpy.random.Generator`` and returns a :class:`ProceduralObject`: a bool voxel grid ``[x, y, z]``
(z up, standing on layer 0, centred on the 20x20 footprint) and a few captions in our own words that
describe the shape geometrically, in the style of StableText2Brick's captions (research/lego_anchors.md
§1.6). The grids are built to be legolisable into stable structures: horizontal slabs that must hang
between supports are at least two layers thick, so every brick can grip one above or below it.

Categories: table, chair, bench, bed, bookshelf, tower, wall, arch, bridge, stairs, house, pyramid.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from brickfield.lego.library import DEFAULT_WORLD_DIM

WORLD = DEFAULT_WORLD_DIM

_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
          "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
          "nineteen", "twenty")


def _num(n: int) -> str:
    return _WORDS[n] if 0 <= n < len(_WORDS) else str(n)


@dataclass
class ProceduralObject:
    """One parametric object: its category, the drawn parameters, the voxels and its captions."""

    category: str
    params: dict[str, Any]
    voxels: np.ndarray
    captions: tuple[str, ...] = field(default_factory=tuple)

    @property
    def n_voxels(self) -> int:
        """Set voxels."""
        return int(np.count_nonzero(self.voxels))


class _Grid:
    """A 20^3 bool grid with box painting relative to a centred footprint origin."""

    def __init__(self, lx: int, ly: int) -> None:
        self.v = np.zeros((WORLD, WORLD, WORLD), dtype=bool)
        self.ox = (WORLD - lx) // 2
        self.oy = (WORLD - ly) // 2

    def box(self, x0: int, x1: int, y0: int, y1: int, z0: int, z1: int, value: bool = True) -> None:
        """Set (or clear) the cells [x0, x1) x [y0, y1) x [z0, z1) of the object's local frame."""
        self.v[self.ox + x0:self.ox + x1, self.oy + y0:self.oy + y1, z0:z1] = value


def _size_word(area: int, small: int, large: int) -> str:
    return "small" if area <= small else "large" if area >= large else "medium-sized"


def _captions(rng: np.random.Generator, pool: list[str]) -> tuple[str, ...]:
    """3 to 5 distinct captions from `pool`, in a seeded order."""
    pool = list(dict.fromkeys(pool))
    k = min(len(pool), int(rng.integers(3, 6)))
    idx = rng.choice(len(pool), size=k, replace=False)
    return tuple(pool[i] for i in idx)


def _legs(g: _Grid, lx: int, ly: int, size: int, inset: int, height: int) -> None:
    for x0 in (inset, lx - inset - size):
        for y0 in (inset, ly - inset - size):
            g.box(x0, x0 + size, y0, y0 + size, 0, height)


# ---------------------------------------------------------------------------------------------------
# furniture


def table(rng: np.random.Generator) -> ProceduralObject:
    """A slab top (two layers) on four legs."""
    lx = int(rng.integers(8, 17))
    ly = int(rng.integers(6, min(lx, 12) + 1))
    leg_h = int(rng.integers(3, 9))
    leg = int(rng.choice([1, 2])) if min(lx, ly) >= 8 else 1
    inset = int(rng.integers(0, 2))
    g = _Grid(lx, ly)
    _legs(g, lx, ly, leg, inset, leg_h)
    g.box(0, lx, 0, ly, leg_h, leg_h + 2)
    size = _size_word(lx * ly, 70, 150)
    shape = "square" if lx == ly else "rectangular"
    kind = "coffee table" if leg_h <= 4 else "tall table" if leg_h >= 7 else "table"
    legs = "thick square legs" if leg == 2 else "thin legs"
    pool = [
        f"A {size} {shape} {kind} with four {legs}.",
        f"A {shape} tabletop, {lx} by {ly} studs, resting on four legs.",
        f"A flat {shape} table standing on four {legs} at its corners." if inset == 0
        else f"A {shape} table whose four legs are set in slightly from the edges.",
        f"A {'low' if leg_h <= 4 else 'high' if leg_h >= 7 else 'medium-height'} table with a thick top.",
        f"A simple four-legged {kind}.",
        f"Four vertical posts holding up a {shape} slab.",
    ]
    params = {"length": lx, "width": ly, "leg_height": leg_h, "leg_size": leg, "inset": inset}
    return ProceduralObject("table", params, g.v, _captions(rng, pool))


def chair(rng: np.random.Generator) -> ProceduralObject:
    """A seat (two layers) on four legs with a backrest and optional armrests."""
    sx = int(rng.integers(4, 9))
    sy = int(rng.integers(4, 9))
    leg_h = int(rng.integers(3, 7))
    back_h = int(rng.integers(4, 9))
    back_t = int(rng.choice([1, 2]))
    arms = bool(rng.random() < 0.4) and sy >= 5
    g = _Grid(sx, sy)
    _legs(g, sx, sy, 1, 0, leg_h)
    seat_top = leg_h + 2
    g.box(0, sx, 0, sy, leg_h, seat_top)
    g.box(0, back_t, 0, sy, seat_top, seat_top + back_h)
    if arms:
        for y0 in (0, sy - 1):
            g.box(back_t, sx, y0, y0 + 1, seat_top, seat_top + 2)
    high = back_h >= 7
    pool = [
        f"A chair with four legs and a {'tall' if high else 'short'} straight backrest.",
        f"A {'square' if sx == sy else 'rectangular'} seat on four legs with a flat back on one side.",
        f"A simple chair, {'with' if arms else 'without'} armrests.",
        "A seat for one person with a solid backrest." if back_t == 2
        else "A chair with a thin, wall-like backrest.",
        f"A four-legged chair whose back is {'much' if high else 'slightly'} taller than its legs.",
    ]
    if arms:
        pool.append("An armchair with low side rails on both sides of the seat.")
    params = {"seat_x": sx, "seat_y": sy, "leg_height": leg_h, "back_height": back_h,
              "back_thickness": back_t, "armrests": arms}
    return ProceduralObject("chair", params, g.v, _captions(rng, pool))


def bench(rng: np.random.Generator) -> ProceduralObject:
    """A long seat on two end panels or four legs, optionally with a backrest."""
    lx = int(rng.integers(10, 19))
    ly = int(rng.integers(3, 6))
    h = int(rng.integers(3, 7))
    panels = bool(rng.random() < 0.5)
    back = bool(rng.random() < 0.5)
    g = _Grid(lx, ly)
    if panels:
        for x0 in (1, lx - 3):
            g.box(x0, x0 + 2, 0, ly, 0, h)
    else:
        _legs(g, lx, ly, 1, 0, h)
    g.box(0, lx, 0, ly, h, h + 2)
    back_h = int(rng.integers(3, 6)) if back else 0
    if back:
        g.box(0, lx, ly - 1, ly, h + 2, h + 2 + back_h)
    support = "two solid end panels" if panels else "four thin legs"
    pool = [
        f"A long bench resting on {support}.",
        f"A {lx}-stud-long seat {'with a backrest along one edge' if back else 'with no backrest'}.",
        f"A narrow bench, {'a park bench with a back' if back else 'a plain backless bench'}.",
        f"A low bench whose seat is {ly} studs deep.",
        f"A flat plank-like seat held up by {support}.",
    ]
    params = {"length": lx, "depth": ly, "height": h, "panels": panels, "back_height": back_h}
    return ProceduralObject("bench", params, g.v, _captions(rng, pool))


def bed(rng: np.random.Generator) -> ProceduralObject:
    """A frame on short legs with a headboard, optional footboard and pillow."""
    lx = int(rng.integers(12, 19))
    ly = int(rng.integers(7, 13))
    legs = int(rng.integers(1, 3))
    head = int(rng.integers(3, 7))
    foot = bool(rng.random() < 0.5)
    pillow = bool(rng.random() < 0.6)
    g = _Grid(lx, ly)
    _legs(g, lx, ly, 2, 0, legs)
    top = legs + 2
    g.box(0, lx, 0, ly, legs, top)
    g.box(0, 2, 0, ly, top, top + head)
    if foot:
        g.box(lx - 1, lx, 0, ly, top, top + 2)
    if pillow:
        g.box(2, 4, 1, ly - 1, top, top + 1)
    pool = [
        f"A {'double' if ly >= 10 else 'single'} bed with a tall headboard.",
        f"A rectangular bed frame on short legs, {lx} studs long.",
        f"A bed with a headboard at one end{' and a low footboard at the other' if foot else ''}.",
        "A bed with a pillow lying against the headboard." if pillow else "A bare bed with no pillow.",
        f"A flat mattress platform raised {_num(legs)} brick{'s' if legs > 1 else ''} off the floor.",
    ]
    params = {"length": lx, "width": ly, "leg_height": legs, "headboard": head, "footboard": foot,
              "pillow": pillow}
    return ProceduralObject("bed", params, g.v, _captions(rng, pool))


def bookshelf(rng: np.random.Generator) -> ProceduralObject:
    """Two side panels and a back panel with evenly spaced shelves."""
    lx = int(rng.integers(6, 15))
    ly = int(rng.choice([2, 4]))  # even depths: one brick reaches from the front edge to the back panel
    gap = int(rng.integers(3, 6))
    n_shelves = int(rng.integers(2, (WORLD - 1) // gap + 1))
    height = n_shelves * gap + 1
    g = _Grid(lx, ly)
    g.box(0, 1, 0, ly, 0, height)
    g.box(lx - 1, lx, 0, ly, 0, height)
    g.box(0, lx, ly - 1, ly, 0, height)
    for k in range(n_shelves + 1):
        g.box(0, lx, 0, ly, k * gap, k * gap + 1)
    pool = [
        f"A bookshelf with {_num(n_shelves)} open compartments stacked vertically.",
        f"A {'tall' if height >= 14 else 'short'} shelving unit with a solid back panel.",
        f"An open-fronted cabinet, {lx} studs wide, divided by horizontal shelves.",
        f"A bookcase with {_num(n_shelves + 1)} flat boards held between two side walls.",
        f"A {'wide' if lx >= 11 else 'narrow'} bookshelf seen from the front.",
    ]
    params = {"width": lx, "depth": ly, "shelf_gap": gap, "shelves": n_shelves, "height": height}
    return ProceduralObject("bookshelf", params, g.v, _captions(rng, pool))


# ---------------------------------------------------------------------------------------------------
# buildings and structures


def tower(rng: np.random.Generator) -> ProceduralObject:
    """A square or round tower, hollow or solid, with optional battlements and windows."""
    round_ = bool(rng.random() < 0.5)
    side = int(rng.integers(4, 11))
    height = int(rng.integers(8, 21))
    hollow = bool(rng.random() < 0.6) and side >= 6
    battlements = bool(rng.random() < 0.5) and height >= 10
    g = _Grid(side, side)
    c = (side - 1) / 2
    xs, ys = np.meshgrid(np.arange(side), np.arange(side), indexing="ij")
    if round_:
        r = side / 2
        disk = (xs - c) ** 2 + (ys - c) ** 2 <= r * r
        ring_in = (xs - c) ** 2 + (ys - c) ** 2 <= (r - 1.5) ** 2
    else:
        disk = np.ones((side, side), dtype=bool)
        ring_in = np.zeros_like(disk)
        ring_in[1:-1, 1:-1] = True
    body_h = height - 1 if battlements else height
    footprint = disk & ~ring_in if hollow else disk
    for z in range(body_h):
        layer = disk if z < 2 else footprint  # a solid floor so a hollow ring is one piece
        g.v[g.ox:g.ox + side, g.oy:g.oy + side, z] = layer
    if battlements:
        merlons = footprint & (((xs + ys) % 2) == 0)
        g.v[g.ox:g.ox + side, g.oy:g.oy + side, body_h] = merlons
    shape = "round" if round_ else "square"
    pool = [
        f"A {'tall' if height >= 15 else 'short'} {shape} tower.",
        f"A {shape} {'hollow' if hollow else 'solid'} tower {height} bricks high.",
        f"A {shape} tower crowned with battlements." if battlements else f"A {shape} tower with a flat top.",
        f"A {'slender' if side <= 6 else 'wide'} {'cylindrical' if round_ else 'box-shaped'} column.",
        f"A castle-like {shape} keep." if battlements else f"A plain {shape} pillar-like tower.",
    ]
    params = {"round": round_, "side": side, "height": height, "hollow": hollow, "battlements": battlements}
    return ProceduralObject("tower", params, g.v, _captions(rng, pool))


def wall(rng: np.random.Generator) -> ProceduralObject:
    """A straight wall, optionally with a gate opening and crenellations."""
    lx = int(rng.integers(10, 21))
    ly = int(rng.integers(1, 3))
    height = int(rng.integers(4, 13))
    gate = bool(rng.random() < 0.5) and height >= 6
    crenel = bool(rng.random() < 0.5)
    g = _Grid(lx, ly)
    g.box(0, lx, 0, ly, 0, height)
    gate_w = int(rng.integers(2, 5)) if gate else 0
    gate_h = height - 3 if gate else 0
    if gate:
        gx = (lx - gate_w) // 2
        g.box(gx, gx + gate_w, 0, ly, 0, gate_h, value=False)
    if crenel:
        for x in range(1, lx, 2):
            g.box(x, x + 1, 0, ly, height - 1, height, value=False)
    pool = [
        f"A straight {'thick' if ly == 2 else 'thin'} wall {lx} studs long.",
        f"A {'tall' if height >= 9 else 'low'} wall "
        f"{'with a gate in the middle' if gate else 'with no openings'}.",
        "A castle wall topped with crenellations." if crenel else "A plain wall with a flat top.",
        f"A freestanding brick wall {height} layers high.",
        "A wall with a doorway you could walk through." if gate else "A solid, unbroken wall segment.",
    ]
    params = {"length": lx, "thickness": ly, "height": height, "gate_width": gate_w, "crenellations": crenel}
    return ProceduralObject("wall", params, g.v, _captions(rng, pool))


def arch(rng: np.random.Generator) -> ProceduralObject:
    """Two pillars joined by a stepped arch and a top band."""
    pw = int(rng.integers(2, 4))
    span = int(rng.integers(4, 11))
    depth = int(rng.integers(2, 5))
    ph = int(rng.integers(3, 9))
    lx = 2 * pw + span
    g = _Grid(lx, depth)
    g.box(0, pw, 0, depth, 0, ph)
    g.box(lx - pw, lx, 0, depth, 0, ph)
    z, a, b = ph, pw, lx - pw
    while b - a > 2 and z < WORLD - 2:  # step inward one stud per side per layer
        a, b = a + 1, b - 1
        g.box(0, a, 0, depth, z, z + 1)
        g.box(b, lx, 0, depth, z, z + 1)
        z += 1
    top = min(z + 2, WORLD)
    g.box(0, lx, 0, depth, z, top)
    pool = [
        f"A stepped arch spanning a {span}-stud opening between two pillars.",
        f"A {'wide' if span >= 8 else 'narrow'} archway with a flat top.",
        f"Two {'thick' if pw == 3 else 'square'} columns joined overhead by a corbelled arch.",
        f"A gateway arch {top} bricks tall.",
        "An arch whose sides step inward layer by layer until they meet.",
    ]
    params = {"pillar_width": pw, "span": span, "depth": depth, "pillar_height": ph, "height": top}
    return ProceduralObject("arch", params, g.v, _captions(rng, pool))


def bridge(rng: np.random.Generator) -> ProceduralObject:
    """A two-layer deck on end piers (and a middle pier when long), optionally with railings."""
    lx = int(rng.integers(14, 21))
    ly = int(rng.integers(3, 7))
    h = int(rng.integers(3, 9))
    pier = int(rng.integers(2, 4))
    middle = lx >= 17 and bool(rng.random() < 0.6)
    rails = bool(rng.random() < 0.6)
    g = _Grid(lx, ly)
    g.box(0, pier, 0, ly, 0, h)
    g.box(lx - pier, lx, 0, ly, 0, h)
    if middle:
        m = (lx - pier) // 2
        g.box(m, m + pier, 0, ly, 0, h)
    g.box(0, lx, 0, ly, h, h + 2)
    if rails:
        rail_h = int(rng.integers(1, 3))
        for y0 in (0, ly - 1):
            g.box(0, lx, y0, y0 + 1, h + 2, h + 2 + rail_h)
    piers = "three piers" if middle else "two piers at its ends"
    pool = [
        f"A flat bridge supported by {piers}.",
        f"A {lx}-stud-long footbridge {'with railings on both sides' if rails else 'with an open deck'}.",
        f"A {'high' if h >= 6 else 'low'} beam bridge over a gap.",
        f"A straight bridge deck {ly} studs wide resting on {piers}.",
        "A small viaduct with a level roadway." if middle else "A simple span between two pillars.",
    ]
    params = {"length": lx, "width": ly, "height": h, "pier": pier, "middle_pier": middle, "railings": rails}
    return ProceduralObject("bridge", params, g.v, _captions(rng, pool))


def stairs(rng: np.random.Generator) -> ProceduralObject:
    """A solid flight of steps, optionally ending in a landing."""
    rise = int(rng.choice([1, 2]))
    tread = int(rng.integers(1, 4))
    n = int(rng.integers(3, min(12, WORLD // rise, WORLD // tread) + 1))
    width = int(rng.integers(2, 9))
    landing = int(rng.integers(0, 4)) if n * tread + 3 <= WORLD else 0
    lx = n * tread + landing
    g = _Grid(lx, width)
    for k in range(n):
        g.box(k * tread, lx, 0, width, k * rise, (k + 1) * rise)
    pool = [
        f"A staircase with {_num(n)} steps.",
        f"A solid flight of {'steep' if rise > tread else 'shallow'} stairs {width} studs wide.",
        f"Steps climbing upward {'to a flat landing' if landing else 'to a narrow top step'}.",
        f"A {'wide' if width >= 6 else 'narrow'} block staircase rising {n * rise} bricks.",
        f"A stepped ramp whose treads are {_num(tread)} stud{'s' if tread > 1 else ''} deep.",
    ]
    params = {"steps": n, "rise": rise, "tread": tread, "width": width, "landing": landing}
    return ProceduralObject("stairs", params, g.v, _captions(rng, pool))


def house(rng: np.random.Generator) -> ProceduralObject:
    """Four walls with a door and windows, a ceiling and a stepped gable roof, maybe a chimney."""
    lx = int(rng.integers(8, 17))
    ly = int(rng.integers(6, 13))
    wall_h = int(rng.integers(4, 8))
    windows = bool(rng.random() < 0.7)
    chimney = bool(rng.random() < 0.4)
    g = _Grid(lx, ly)
    g.box(0, lx, 0, ly, 0, wall_h)
    g.box(1, lx - 1, 1, ly - 1, 1, wall_h, value=False)  # hollow, with a floor
    door_x = lx // 2 - 1
    g.box(door_x, door_x + 2, 0, 1, 1, min(4, wall_h - 1), value=False)
    if windows and wall_h >= 5:
        for y0 in (ly // 2 - 1,):
            g.box(0, 1, y0, y0 + 2, 2, 4, value=False)
            g.box(lx - 1, lx, y0, y0 + 2, 2, 4, value=False)
    z = wall_h
    g.box(0, lx, 0, ly, z, z + 1)  # ceiling
    a, b = 0, ly
    while b - a > 0 and z + 1 < WORLD:  # gable roof with the ridge along x
        z += 1
        g.box(0, lx, a, b, z, z + 1)
        a, b = a + 1, b - 1
    roof_top = z + 1
    if chimney and roof_top + 1 < WORLD:
        g.box(lx - 3, lx - 2, 1, 2, wall_h + 1, min(roof_top + 1, WORLD))
    pool = [
        f"A small house with a pitched roof{' and a chimney' if chimney else ''}.",
        f"A {'long' if lx >= 13 else 'compact'} cottage with a door on the front wall.",
        f"A box-shaped house {'with windows on both sides' if windows else 'with a single doorway'}.",
        "A one-room building under a stepped gable roof.",
        f"A house whose roof rises in steps to a ridge {roof_top} bricks above the ground.",
    ]
    params = {"length": lx, "width": ly, "wall_height": wall_h, "windows": windows, "chimney": chimney,
              "height": roof_top}
    return ProceduralObject("house", params, g.v, _captions(rng, pool))


def pyramid(rng: np.random.Generator) -> ProceduralObject:
    """A solid stepped pyramid, square or rectangular, with one- or two-layer tiers."""
    bx = int(rng.integers(6, 19))
    by = int(rng.choice([bx, int(rng.integers(6, 19))]))
    tier_h = int(rng.choice([1, 2]))
    g = _Grid(bx, by)
    a, z, tiers = 0, 0, 0
    while bx - 2 * a > 0 and by - 2 * a > 0 and z < WORLD:
        g.box(a, bx - a, a, by - a, z, min(z + tier_h, WORLD))
        a, z, tiers = a + 1, z + tier_h, tiers + 1
    pool = [
        f"A stepped pyramid with {_num(tiers) if tiers < len(_WORDS) else tiers} tiers.",
        f"A {'square' if bx == by else 'rectangular'} ziggurat that narrows toward the top.",
        f"A {'tall' if tier_h == 2 else 'squat'} pyramid built from stacked layers.",
        f"A solid pyramid with a {bx} by {by} stud base.",
        "A terraced pyramid like an ancient temple.",
    ]
    params = {"base_x": bx, "base_y": by, "tier_height": tier_h, "tiers": tiers}
    return ProceduralObject("pyramid", params, g.v, _captions(rng, pool))


#: Category name -> builder.
CATEGORIES: dict[str, Callable[[np.random.Generator], ProceduralObject]] = {
    "table": table, "chair": chair, "bench": bench, "bed": bed, "bookshelf": bookshelf, "tower": tower,
    "wall": wall, "arch": arch, "bridge": bridge, "stairs": stairs, "house": house, "pyramid": pyramid,
}


def make_object(category: str, seed: int | Any = 0) -> ProceduralObject:
    """Build one object of `category` with parameters drawn from `seed` (an int, a seed sequence or a
    Generator). KeyError naming the known categories for an unknown one."""
    if category not in CATEGORIES:
        raise KeyError(f"unknown category {category!r}; known: {sorted(CATEGORIES)}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    return CATEGORIES[category](rng)


__all__ = ["CATEGORIES", "ProceduralObject", "make_object"]
