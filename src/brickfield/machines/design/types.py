"""Shared data types of the machines domain (interfaces between catalog, tree, placement, physics).

Coordinates everywhere a user or LLM sees them are Besiege's: left-handed, x right, y up, z forward,
1 unit = 1 m. Quaternions are [x, y, z, w].
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

Vec3 = tuple[float, float, float]
Quat = tuple[float, float, float, float]


class BlockKind(StrEnum):
    """How a block behaves physically."""

    ROOT = "root"        # the starting block
    RIGID = "rigid"      # structural, welded to its parent
    JOINT = "joint"      # passive or powered joint between parent and its children (hinge, swivel, ...)
    POWERED = "powered"  # spins/drives on its own (powered wheels, spinning block)
    WHEEL = "wheel"      # free-spinning wheel (unpowered)
    LINEAR = "linear"    # two-parent block with no volume (brace, rubber band, winch)
    LOOSE = "loose"      # never attaches (boulder, bomb)


class Collider(StrEnum):
    """The collision shape MuJoCo gets for a block (sizes in ``BlockSpec.collider_size``)."""

    BOX = "box"
    CYLINDER = "cylinder"  # axis along the block's local z
    SPHERE = "sphere"
    NONE = "none"


@dataclass(frozen=True)
class BlockSpec:
    """One block type of the catalog, in the block's own frame (origin = connection point, extends
    along local +z)."""

    type_id: str                       # as written in trees: "0", "63", "18_1"
    name: str
    category: str                      # Basic, Locomotion, Mechanical, Weaponry, Armour
    size: Vec3                         # outline box (x, y, z); (0,0,0) for linear blocks
    center: Vec3                       # geometric centre of the box
    attach_points: tuple[Vec3, ...]    # index = bp_id / face id
    mass: float
    kind: BlockKind
    collider: Collider
    collider_size: tuple[float, ...]   # box: full extents (x,y,z); cylinder: (radius, length); sphere: (r,)

    @property
    def is_linear(self) -> bool:
        return self.kind is BlockKind.LINEAR


@dataclass(frozen=True)
class TreeBlock:
    """One entry of a construction tree as parsed (indices are order_ids)."""

    type_id: str
    order_id: int
    parent: int = -1
    bp_id: int = -1
    parent_b: int | None = None        # set only for linear blocks (parent = parent_a)
    bp_id_b: int | None = None

    @property
    def is_two_parent(self) -> bool:
        return self.parent_b is not None


@dataclass(frozen=True)
class PlacedBlock:
    """A block after placement, in world coordinates after auto-placement."""

    index: int                         # position in the tree list
    order_id: int
    type_id: str
    position: Vec3                     # origin (connection point); end A for linear blocks
    rotation: Quat                     # [x, y, z, w]
    parents: tuple[int, ...]           # list indices of parent blocks (0 for root, 2 for linear)
    box_min: Vec3 | None = None        # world AABB (None for linear blocks)
    box_max: Vec3 | None = None
    position_b: Vec3 | None = None     # end B for linear blocks
    flipped: bool = False              # powered wheels facing x- are flipped to drive +z
    facing: str = "z+"                 # outward normal of the parent face: x-, x+, y-, y+, z-, z+


@dataclass(frozen=True)
class PlacedMachine:
    """A whole placed machine: blocks in tree order plus the global placement offset."""

    blocks: tuple[PlacedBlock, ...]
    global_position: Vec3
    size: Vec3                         # (length_z, width_x, height_y) as used by the size check
    errors: tuple[str, ...] = field(default_factory=tuple)  # spatial errors (size, overlap)

    @property
    def spatial_valid(self) -> bool:
        return not self.errors
