"""The brick library: the eight BrickGPT cuboids, their LDraw parts, masses and StableLego ids.

Facts re-encoded from the BrickGPT/StableLego library (research/lego_anchors.md §1.1, §6). Dimensions
are (short, long) in studs; a brick uses one of them along x (`h`) and the other along y (`w`).
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_WORLD_DIM = 20


@dataclass(frozen=True)
class BrickType:
    """One cuboid brick type, independent of orientation."""

    short: int
    long: int
    ldraw_part: str  # without the .dat suffix
    mass_kg: float
    stablelego_id: int

    @property
    def name(self) -> str:
        """``short x long``, e.g. ``2x4``."""
        return f"{self.short}x{self.long}"


BRICK_TYPES: tuple[BrickType, ...] = (
    BrickType(1, 1, "3005", 0.00043, 10),
    BrickType(1, 2, "3004", 0.00081, 9),
    BrickType(1, 4, "3010", 0.00157, 5),
    BrickType(1, 6, "3009", 0.00228, 6),
    BrickType(1, 8, "3008", 0.00303, 4),
    BrickType(2, 2, "3003", 0.00115, 12),
    BrickType(2, 4, "3001", 0.00216, 2),
    BrickType(2, 6, "2456", 0.00323, 3),
)

_BY_DIMS: dict[tuple[int, int], BrickType] = {(t.short, t.long): t for t in BRICK_TYPES}
_BY_PART: dict[str, BrickType] = {t.ldraw_part: t for t in BRICK_TYPES}
_BY_STABLELEGO: dict[int, BrickType] = {t.stablelego_id: t for t in BRICK_TYPES}

#: Every allowed `HxW` string (both orientations), in BrickGPT's prompt order.
ALLOWED_DIMENSIONS: tuple[str, ...] = (
    "2x4", "4x2", "2x6", "6x2", "1x2", "2x1", "1x4", "4x1", "1x6", "6x1", "1x8", "8x1", "1x1", "2x2",
)


def brick_type(h: int, w: int) -> BrickType | None:
    """The library type of an `h` x `w` footprint in either orientation, or None if not in the library."""
    return _BY_DIMS.get((min(h, w), max(h, w)))


def type_by_part(part: str) -> BrickType | None:
    """Look up by LDraw part id (``3001``, ``3001.dat``, any case)."""
    key = part.strip().lower().removesuffix(".dat")
    return _BY_PART.get(key)


def type_by_stablelego_id(brick_id: int) -> BrickType | None:
    """Look up by StableLego's ``brick_id`` (None if unknown)."""
    return _BY_STABLELEGO.get(brick_id)
