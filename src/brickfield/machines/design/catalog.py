"""The Besiege block catalog: every block type BesiegeField knows, as a typed table.

Geometry (outline box size, geometric centre, ordered attach points) follows the BesiegeField block
catalog (44 entries, keyed by the tree's type id, including the retracted piston ``"18_1"``). The
attach-point lists are generated here from the few layout rules the catalog uses (see the ``_*``
helpers), not copied; ``tests/machines/test_catalog.py`` cross-checks every entry against the
reference file when ``shared/`` is present.

Conventions (see ``types.py``): a block's origin is its connection point and it extends along its
local +z; the outline box spans ``center ± size/2``; ``attach_points[k]`` is the point a child
written with ``bp_id = k`` connects to. Only the Starting Block is centred on its origin. Colliders
are centred on ``center`` and aligned with the block frame (cylinder axis = local z).

Masses come from ``research/machine_anchors.md`` §2 (game mass units); types that table does not list
get a default noted next to the entry.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from brickfield.core.errors import ParseError
from brickfield.machines.design.types import BlockKind, BlockSpec, Collider, Vec3

__all__ = [
    "BLOCKS",
    "CONTAINER_ATTACH_BOX",
    "FLIP_SENSITIVE",
    "LINEAR_TYPES",
    "MACHINE_BLOCKS",
    "PAPER_BLOCKS",
    "UnknownBlockError",
    "attach_box",
    "bsg_id",
    "get_block",
    "is_known",
    "normalize_type_id",
]


class UnknownBlockError(ParseError, KeyError):
    """A type id that is not in the catalog (code ``unknown_type``).

    Also a ``KeyError`` so dictionary-style callers can catch it the usual way.
    """

    def __init__(self, type_id: object) -> None:
        ParseError.__init__(self, "unknown_type", f"unknown block type {type_id!r}")
        self.type_id = type_id

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return ParseError.__str__(self)


# --- attach-point layout rules -------------------------------------------------------------------
# The catalog uses three layouts. Writing them as rules keeps the table short and makes the
# numbering convention explicit (face id = list index).

def _column(depth: float, zs: tuple[float, ...] | None = None) -> tuple[Vec3, ...]:
    """1-wide block of length ``depth``: far end first, then all Left points, all Right, all Up,
    all Down (one per unit cell along z unless ``zs`` restricts them, e.g. suspension: far cell only)."""
    if zs is None:
        zs = tuple(k + 0.5 for k in range(int(depth)))
    far: Vec3 = (0.0, 0.0, float(depth))
    sides: list[Vec3] = []
    for dx, dy in ((-0.5, 0.0), (0.5, 0.0), (0.0, 0.5), (0.0, -0.5)):
        sides.extend((dx, dy, z) for z in zs)
    return (far, *sides)


def _rings(front_z: float, half: float, zs: tuple[float, ...]) -> tuple[Vec3, ...]:
    """Wide disc-like blocks: front centre first, then Left/Right/Up/Down at each z in ``zs``
    (grouped by z, unlike ``_column``)."""
    pts: list[Vec3] = [(0.0, 0.0, front_z)]
    for z in zs:
        pts.extend([(-half, 0.0, z), (half, 0.0, z), (0.0, half, z), (0.0, -half, z)])
    return tuple(pts)


_FRONT_ONLY: tuple[Vec3, ...] = ((0.0, 0.0, 1.0),)
_CUBE = _column(1)  # front (0,0,1), then L, R, U, D at z = 0.5
_ROOT_POINTS: tuple[Vec3, ...] = (
    (0.0, 0.0, 0.5), (0.0, 0.0, -0.5),   # front, back
    (-0.5, 0.0, 0.0), (0.5, 0.0, 0.0),   # left, right
    (0.0, 0.5, 0.0), (0.0, -0.5, 0.0),   # up, down
)
_NONE: tuple[Vec3, ...] = ()


def _spec(type_id: str, name: str, category: str, size: Vec3, center: Vec3,
          points: tuple[Vec3, ...], mass: float, kind: BlockKind,
          collider: Collider | None = None, collider_size: tuple[float, ...] | None = None) -> BlockSpec:
    """Build one entry; the collider defaults to the outline box."""
    if collider is None:
        collider, collider_size = Collider.BOX, size
    assert collider_size is not None
    return BlockSpec(type_id, name, category, _vec(size), _vec(center),
                     tuple(_vec(p) for p in points), float(mass), kind, collider,
                     tuple(float(v) for v in collider_size))


def _vec(v: tuple[float, ...]) -> Vec3:
    return (float(v[0]), float(v[1]), float(v[2]))


def _linear(type_id: str, name: str, category: str, mass: float) -> BlockSpec:
    """Two-parent blocks have no box, no attach points and no collider."""
    return _spec(type_id, name, category, (0.0, 0.0, 0.0), (0.0, 0.0, 0.0), _NONE, mass,
                 BlockKind.LINEAR, Collider.NONE, ())


_B, _L, _M, _W, _A = "Basic", "Locomotion", "Mechanical", "Weaponry", "Armour"
_K = BlockKind
_C = Collider

# Masses marked "default" are not documented in our sources (machine_anchors.md §2 lists the rest):
# 1x1x1 mechanical parts get 0.5 like the documented hinge/joints, thin plates and pads 0.3 like the
# small wooden block, weapons and large parts an estimate by size. Physics may override them;
# validity never uses mass.

_TABLE: tuple[BlockSpec, ...] = (
    # --- structural ------------------------------------------------------------------------------
    # Starting block: collider = outline (BuildArena starting_block.yaml).
    _spec("0", "Starting Block", _B, (1, 1, 1), (0, 0, 0), _ROOT_POINTS, 0.25, _K.ROOT),
    # Small wooden block: collider 0.8x0.8x1, smaller than the outline (BuildArena small_wooden_block.yaml).
    _spec("15", "Small Wooden Block", _B, (1, 1, 1), (0, 0, 0.5), _CUBE, 0.3, _K.RIGID,
          _C.BOX, (0.8, 0.8, 1.0)),
    # Wooden block / log: same 0.8 cross-section as the small wooden block (by analogy).
    _spec("1", "Wooden Block", _B, (1, 1, 2), (0, 0, 1), _column(2), 0.5, _K.RIGID,
          _C.BOX, (0.8, 0.8, 2.0)),
    _spec("63", "Log", _B, (1, 1, 3), (0, 0, 1.5), _column(3), 1.0, _K.RIGID,
          _C.BOX, (0.8, 0.8, 3.0)),
    # Wooden pole: the paper calls it a slender rod; 0.3 m square cross-section is our estimate.
    _spec("41", "Wooden Pole", _B, (1, 1, 2), (0, 0, 1), _column(2), 0.5, _K.RIGID,
          _C.BOX, (0.3, 0.3, 2.0)),
    # Ballast: mass 3 (the .bsg writes bmt-mass=3); collider = outline.
    _spec("35", "Ballast", _B, (1, 1, 1), (0, 0, 0.5), _CUBE, 3.0, _K.RIGID),
    _linear("7", "Brace", _B, 0.5),
    # --- locomotion ------------------------------------------------------------------------------
    # Wheels: cylinder r=1, length 0.5 along local z (BuildArena powered_wheel.yaml).
    _spec("2", "Powered Wheel", _L, (2, 2, 0.5), (0, 0, 0.25), ((0, 0, 0.5),), 1.0, _K.POWERED,
          _C.CYLINDER, (1.0, 0.5)),
    _spec("40", "Unpowered Wheel", _L, (2, 2, 0.5), (0, 0, 0.25), ((0, 0, 0.5),), 1.0, _K.WHEEL,
          _C.CYLINDER, (1.0, 0.5)),
    # Large wheels: r = 1.5 (box 3x3x1), not 3 as one prompt says (machine_anchors.md §2).
    _spec("46", "Powered Large Wheel", _L, (3, 3, 1), (0, 0, 0.5), _rings(1.0, 1.5, (1.0, 0.5)), 1.0,
          _K.POWERED, _C.CYLINDER, (1.5, 1.0)),
    _spec("60", "Unpowered Large Wheel", _L, (3, 3, 1), (0, 0, 0.5), _rings(1.0, 1.5, (1.0, 0.5)), 1.0,
          _K.WHEEL, _C.CYLINDER, (1.5, 1.0)),
    # Small (caster) wheel: no documented collider; outline box.
    _spec("50", "Small Wheel", _L, (0.5, 1, 1.5), (0, 0, 0.75), _NONE, 0.5, _K.WHEEL),
    # Roller: a free ball in a 1x1x1 housing; sphere r=0.5 (estimate). Mass default 0.5 (cube parts).
    _spec("86", "Roller Wheel", _L, (1, 1, 1), (0, 0, 0.5), _NONE, 0.5, _K.WHEEL, _C.SPHERE, (0.5,)),
    _spec("28", "Steering Hinge", _L, (1, 1, 1), (0, 0, 0.5), _FRONT_ONLY, 1.0, _K.JOINT),
    _spec("13", "Steering Block", _L, (1, 1, 1), (0, 0, 0.5), _CUBE, 1.0, _K.JOINT),
    # Suspension: attach points on the far cell only. Mass 0.5 (machine_anchors.md §2).
    _spec("16", "Suspension", _L, (1, 1, 2), (0, 0, 1), _column(2, (1.5,)), 0.5, _K.JOINT),
    # Flying block (propeller): mass default 0.5.
    _spec("14", "Flying Block", _L, (1, 1, 1), (0, 0, 0.5), _NONE, 0.5, _K.POWERED),
    # Powered cog: cylinder r=1, length 1 (from its 2x2x1 box). Mass default 1 (like powered wheels).
    _spec("39", "Powered Cog", _L, (2, 2, 1), (0, 0, 0.5), _FRONT_ONLY, 1.0, _K.POWERED,
          _C.CYLINDER, (1.0, 1.0)),
    # Hot air balloon: sphere r=1.5 (from its 3x3x3 box); mass default 0.5.
    _spec("74", "Hot Air Balloon", _L, (3, 3, 3), (0, 0, 1.5), _rings(3.0, 1.5, (1.5,)), 0.5, _K.RIGID,
          _C.SPHERE, (1.5,)),
    # --- mechanical ------------------------------------------------------------------------------
    _spec("19", "Swivel Joint", _M, (1, 1, 1), (0, 0, 0.5), _CUBE, 0.5, _K.JOINT),
    _spec("5", "Hinge", _M, (1, 1, 1), (0, 0, 0.5), _CUBE, 0.5, _K.JOINT),
    _spec("44", "Ball Joint", _M, (1, 1, 1), (0, 0, 0.5), _CUBE, 0.5, _K.JOINT),
    # Axle connector: mass default 0.5 (like the other joints).
    _spec("76", "Axle Connector", _M, (1, 1, 1), (0, 0, 0.5), _FRONT_ONLY, 0.5, _K.JOINT),
    _spec("22", "Spinning Block", _M, (1, 1, 1), (0, 0, 0.5), _CUBE, 1.0, _K.POWERED),
    # Grabber: mass default 0.5.
    _spec("27", "Grabber", _M, (1, 1, 1), (0, 0, 0.5), _FRONT_ONLY, 0.5, _K.RIGID),
    # Decoupler: 5 attach points in the catalog (the prompt text shows only point 0). Mass default 0.5.
    _spec("4", "Decoupler", _M, (1, 1, 1), (0, 0, 0.5), _CUBE, 0.5, _K.RIGID),
    _linear("9", "Rubber Band", _M, 0.4),
    _linear("45", "Winch", _M, 0.4),
    # Piston, extended ("18") and retracted ("18_1", written to .bsg as 18). Mass default 0.5.
    _spec("18", "Piston", _M, (1, 1, 2), (0, 0, 1), _column(2, (1.5,)), 0.5, _K.JOINT),
    _spec("18_1", "Piston (Retracted)", _M, (1, 1, 1), (0, 0, 0.5), _CUBE, 0.5, _K.JOINT),
    # Large cog: cylinder r=2.5, length 1 (from its 5x5x1 box); mass default 1.
    _spec("51", "Unpowered Large Cog", _M, (5, 5, 1), (0, 0, 0.5), _rings(1.0, 1.0, (1.0,)), 1.0,
          _K.WHEEL, _C.CYLINDER, (2.5, 1.0)),
    # --- weaponry --------------------------------------------------------------------------------
    # Weapons (not used by BesiegeField tasks): outline-box colliders, estimated masses.
    _spec("20", "Metal Spike", _W, (0.2, 0.2, 2.4), (0, 0, 1.25), _NONE, 0.3, _K.RIGID),
    _spec("3", "Metal Blade", _W, (1, 0.1, 3.8), (0, 0, 2.0), _NONE, 0.3, _K.RIGID),
    _spec("11", "Cannon", _W, (1, 2.5, 1), (0, -0.5, 0.5), _NONE, 1.0, _K.RIGID),
    # Bomb and boulder: loose spheres r=0.95 (from the 1.9 box); masses 0.5 / 5 (§2 table).
    _spec("23", "Bomb", _W, (1.9, 1.9, 1.9), (0, 0, 0.95), _NONE, 0.5, _K.LOOSE, _C.SPHERE, (0.95,)),
    _spec("36", "Boulder", _W, (1.9, 1.9, 1.9), (0, 0, 0.95), _NONE, 5.0, _K.LOOSE, _C.SPHERE, (0.95,)),
    # Circular saw: cylinder r=1, length 0.5; mass default 1.
    _spec("17", "Circular Saw", _W, (2, 2, 0.5), (0, 0, 0.25), _NONE, 1.0, _K.POWERED,
          _C.CYLINDER, (1.0, 0.5)),
    # --- armour ----------------------------------------------------------------------------------
    # Pads: thin 0.8x0.8x0.2 boxes; mass default 0.3.
    _spec("49", "Grip Pad", _A, (0.8, 0.8, 0.2), (0, 0, 0.1), _NONE, 0.3, _K.RIGID),
    _spec("87", "Elastic Pad", _A, (0.8, 0.8, 0.2), (0, 0, 0.1), _NONE, 0.3, _K.RIGID),
    # Container: an open holder in the game; the outline box stands in for its collider here and
    # physics is expected to build walls so the boulder can sit inside. Mass 0.5 (§2 table).
    _spec("30", "Container", _A, (2.4, 3, 2.8), (0, 0, 1.4), _FRONT_ONLY, 0.5, _K.RIGID),
    # Spike ball: sphere r=1.25 (from the 3x3x2.5 box); mass default 1.
    _spec("6", "Spike Ball", _A, (3, 3, 2.5), (0, 0, 1.25), _NONE, 1.0, _K.RIGID, _C.SPHERE, (1.25,)),
    _spec("32", "Armour Plate (Large)", _A, (1.8, 0.9, 0.3), (0, 0, 0.15), _NONE, 0.5, _K.RIGID),
    _spec("24", "Armour Plate (Small)", _A, (0.9, 0.9, 0.3), (0, 0, 0.15), _NONE, 0.3, _K.RIGID),
    _spec("29", "Armour Plate (Round)", _A, (2, 2, 0.3), (0, 0, 0.15), _NONE, 0.5, _K.RIGID),
)

BLOCKS: Mapping[str, BlockSpec] = MappingProxyType({b.type_id: b for b in _TABLE})
"""Every catalog block keyed by its tree type id (``"0"``, ``"63"``, ``"18_1"``...)."""

PAPER_BLOCKS: tuple[str, ...] = (
    "0", "15", "1", "41", "63", "28", "13", "2", "40", "46", "60", "50", "86", "19", "5", "44",
    "76", "16", "22", "27", "36", "49", "87", "30", "9", "7", "35",
)
"""The 27 blocks of the paper's list (Appendix B.3), in the paper's order."""

MACHINE_BLOCKS: tuple[str, ...] = (*PAPER_BLOCKS, "4", "45")
"""The paper's 27 plus decoupler 4 and winch 45, which the fetch task also allows."""

LINEAR_TYPES: frozenset[str] = frozenset(b.type_id for b in _TABLE if b.kind is BlockKind.LINEAR)
"""Two-parent types: brace 7, rubber band 9, winch 45."""

POWERED_WHEEL_TYPES: frozenset[str] = frozenset({"2", "46"})
"""Powered wheels (the spinning block 22 is ``POWERED`` too but is no wheel)."""

WHEEL_TYPES: frozenset[str] = POWERED_WHEEL_TYPES | {b.type_id for b in _TABLE if b.kind is BlockKind.WHEEL}
"""Powered and free-spinning wheels."""

LOOSE_TYPES: frozenset[str] = frozenset(b.type_id for b in _TABLE if b.kind is BlockKind.LOOSE)
"""Blocks that never attach (boulder 36, bomb 23)."""

BOULDER = "36"
"""The boulder: the projectile of the catapult tasks."""

CONTAINER = "30"
"""The container: exempt from overlap with its parent and given a front-facing attach box."""

FLIP_SENSITIVE: frozenset[str] = POWERED_WHEEL_TYPES
"""Powered wheels: written with ``flipped=True`` when facing x- so both sides drive +z."""

CONTAINER_ATTACH_BOX: tuple[Vec3, Vec3] = ((0.0, 0.0, 0.5), (1.0, 1.0, 1.0))
"""(centre, size) of the box the reference uses instead of the container's real box when it decides
which face an attach point lies on."""


def normalize_type_id(type_id: str | int) -> str:
    """The catalog key for ``type_id``: ints become their decimal string, strings are kept as is.

    Raises ``UnknownBlockError`` for bools and other types (``True`` is not block 1).
    """
    if isinstance(type_id, bool) or not isinstance(type_id, (str, int)):
        raise UnknownBlockError(type_id)
    return str(type_id)


def is_known(type_id: object) -> bool:
    """True when ``type_id`` (str or int) names a catalog block."""
    try:
        return normalize_type_id(type_id) in BLOCKS  # type: ignore[arg-type]
    except UnknownBlockError:
        return False


def get_block(type_id: str | int) -> BlockSpec:
    """The catalog entry of ``type_id`` (``63``, ``"63"``, ``"18_1"``).

    Raises ``UnknownBlockError`` (a ``ParseError`` with code ``unknown_type``) when it is not listed.
    """
    key = normalize_type_id(type_id)
    try:
        return BLOCKS[key]
    except KeyError:
        raise UnknownBlockError(type_id) from None


def attach_box(spec: BlockSpec) -> tuple[Vec3, Vec3]:
    """(centre, size) of the box used to find which face an attach point lies on.

    Equal to the outline box except for the container, which uses a 1x1x1 box at (0,0,0.5) so its
    single attach point faces forward (reference behaviour).
    """
    if spec.type_id == CONTAINER:
        return CONTAINER_ATTACH_BOX
    return spec.center, spec.size


def bsg_id(type_id: str) -> str:
    """The id written to a ``.bsg`` file: the retracted piston ``18_1`` is block 18."""
    return "18" if type_id == "18_1" else type_id
