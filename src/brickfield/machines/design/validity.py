"""Machine validity: file validity (the tree can be read and built) + spatial validity (no block
overlaps another, the machine fits the build area).

Spatial rules (reference ``valid_check``):

* Strict AABB overlap between any two blocks, on all three axes; touching is fine. Boxes are the
  2-decimal pre-placement boxes. Linear blocks have no volume. A pair is exempt when one block is
  the *direct* parent of the other and that parent is a container (30).
* Size: length (z) and width (x) at most 17, height (y) at most 9.5; exactly the limit passes.

Messages are the reference's (``size error:L,W,H``, ``overlap error:`` + one line per pair naming
list indices + ``totally n overlaps``), so reports can be compared with BesiegeField's. With
``reference_quirks=True`` (default) the reference's behaviour is reproduced, including the linear
block phantom point; ``False`` selects the fixed reading. Every quirk and the decision taken:
``docs/machines_validity.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from brickfield.core.errors import ParseError, ParseIssue
from brickfield.machines.design.catalog import CONTAINER, POWERED_WHEEL_TYPES
from brickfield.machines.design.parse import check_tree_data
from brickfield.machines.design.placement import Layout, layout
from brickfield.machines.design.tree import (
    DEFAULT_LIMITS,
    REJECT_MESSAGE,
    ConstructionTree,
    TreeCheck,
    TreeLimits,
    load_tree_data,
)
from brickfield.machines.design.types import PlacedMachine

__all__ = [
    "SIZE_LIMITS",
    "SizeLimits",
    "ValidityReport",
    "check_machine",
    "check_tree",
    "file_invalid_report",
    "overlap_pairs",
    "spatial_errors",
]


@dataclass(frozen=True)
class SizeLimits:
    """Build-area limits in metres; a machine fails when a dimension is strictly larger."""

    length: float = 17.0  # z
    width: float = 17.0   # x
    height: float = 9.5   # y


SIZE_LIMITS = SizeLimits()


@dataclass(frozen=True)
class ValidityReport:
    """The verdict on one machine.

    ``spatial_valid`` is None when the file is invalid (nothing was placed). ``errors`` are the
    reference-style messages, ``warnings`` warning-level findings that do not change validity
    (e.g. two blocks on one attach point in reference mode), ``issues`` typed codes with the
    offending block's list index. ``machine`` is the placed machine whenever the file is valid.
    """

    file_valid: bool
    spatial_valid: bool | None
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    issues: tuple[ParseIssue, ...] = ()
    tree: ConstructionTree | None = field(default=None, repr=False)
    machine: PlacedMachine | None = field(default=None, repr=False)
    reference_quirks: bool = True

    @property
    def valid(self) -> bool:
        """File- and spatially valid (the RL reward gate)."""
        return self.file_valid and self.spatial_valid is True

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON: ``file_valid, spatial_valid, valid, errors, warnings, issues`` and, when the file
        is valid, ``blocks`` (order_id, type, position, rotation [x,y,z,w] in Besiege world coordinates
        after auto-placement; linear blocks add ``position_b``/``end_position``, powered wheels
        ``flipped``), ``global_position`` and ``size`` [length z, width x, height y]; else None."""
        out: dict[str, Any] = {
            "file_valid": self.file_valid, "spatial_valid": self.spatial_valid, "valid": self.valid,
            "errors": list(self.errors), "warnings": list(self.warnings),
            "issues": [i.to_dict() for i in self.issues],
            "blocks": None, "global_position": None, "size": None,
        }
        if self.machine is not None:
            out["blocks"] = [_block_dict(b) for b in self.machine.blocks]
            out["global_position"] = _round(self.machine.global_position)
            out["size"] = [round(v, 2) for v in self.machine.size]
        return out


def _round(v: Sequence[float]) -> list[float]:
    return [round(float(c), 6) + 0.0 for c in v]  # + 0.0 turns -0.0 into 0.0


def _block_dict(b: Any) -> dict[str, Any]:
    d: dict[str, Any] = {"order_id": b.order_id, "type": b.type_id, "position": _round(b.position),
                         "rotation": _round(b.rotation)}
    if b.position_b is not None:
        d["position_b"] = _round(b.position_b)
        d["end_position"] = _round(np.subtract(b.position_b, b.position))
    if b.type_id in POWERED_WHEEL_TYPES:
        d["flipped"] = b.flipped
    return d


def overlap_pairs(lay: Layout) -> list[tuple[int, int]]:
    """List-index pairs (i < j) of blocks whose boxes overlap strictly on all three axes, minus the
    container exemption, in the reference's order. Vectorised O(n^2) with numpy broadcasting."""
    lo, hi = lay.box_lo, lay.box_hi  # NaN rows (linear blocks without the phantom) never compare true
    with np.errstate(invalid="ignore"):
        hit = ((lo[:, None, :] < hi[None, :, :]) & (lo[None, :, :] < hi[:, None, :])).all(axis=2)
    hit = np.triu(hit, k=1)
    blocks = lay.tree.blocks
    order = np.array([b.order_id for b in blocks])
    # The reference records -1 as the parent of linear blocks and compares order_ids (not indices).
    parent = np.array([b.parent if lay.solid[i] else -1 for i, b in enumerate(blocks)])
    container = np.array([b.type_id == CONTAINER for b in blocks])
    i_parent_of_j = order[:, None] == parent[None, :]
    j_parent_of_i = order[None, :] == parent[:, None]
    exempt = (i_parent_of_j & container[:, None]) | (~i_parent_of_j & j_parent_of_i & container[None, :])
    ii, jj = np.nonzero(hit & ~exempt)
    return [(int(i), int(j)) for i, j in zip(ii, jj, strict=True)]


def spatial_errors(lay: Layout, size_limits: SizeLimits = SIZE_LIMITS,
                   pairs: list[tuple[int, int]] | None = None) -> list[str]:
    """The size and overlap messages for a placed tree (empty when spatially valid); ``pairs``
    are the overlapping pairs when already computed."""
    errors: list[str] = []
    length, width, height = lay.size
    if height > size_limits.height or width > size_limits.width or length > size_limits.length:
        errors.append(f"size error:{round(length, 2)},{round(width, 2)},{round(height, 2)}")
    pairs = overlap_pairs(lay) if pairs is None else pairs
    if pairs:
        lines = "".join(f"Block order_id {i} and Block order_id {j} overlap\n" for i, j in pairs)
        errors.append(f"overlap error:{lines}totally {len(pairs)} overlaps\n")
    return errors


def check_tree(tree: ConstructionTree, *, reference_quirks: bool = True,
               size_limits: SizeLimits = SIZE_LIMITS) -> ValidityReport:
    """Spatial validity of an already file-valid tree."""
    lay = layout(tree, reference_quirks=reference_quirks)
    pairs = overlap_pairs(lay)
    errors = spatial_errors(lay, size_limits, pairs)
    warnings = [n.message for n in tree.notes]
    if lay.phantom_lift > 0:
        warnings.append(f"reference quirk: the linear-block phantom point raises the machine by "
                        f"{lay.phantom_lift:.2f} m and counts in its height")
    phantom_pairs = [(i, j) for i, j in pairs if not (lay.solid[i] and lay.solid[j])]
    warnings.extend(f"reference quirk: overlap {i}-{j} is with a linear block's phantom point"
                    for i, j in phantom_pairs)
    return ValidityReport(True, not errors, tuple(errors), tuple(warnings), tuple(tree.notes), tree,
                          lay.placed(errors), reference_quirks)


def file_invalid_report(check: TreeCheck, reference_quirks: bool) -> ValidityReport:
    """The report of a tree that failed the file checks (the reference's error text, typed issues)."""
    message = check.message
    if not reference_quirks and message == REJECT_MESSAGE:
        # Strict mode has no reject class: word the cause like the other warnings.
        message = "illegal building:" + "\n".join(f"Warning: {i.message}" for i in check.issues)
    return ValidityReport(False, None, (message,), (), check.issues, reference_quirks=reference_quirks)


def check_machine(source: str | bytes | Sequence[Any], *, reference_quirks: bool = True,
                  limits: TreeLimits = DEFAULT_LIMITS,
                  size_limits: SizeLimits = SIZE_LIMITS) -> ValidityReport:
    """Full validity of raw LLM output (text with or without fences, bytes, or a parsed list).

    Never raises for bad input: unreadable text, wrong keys, bad values, unknown types... all give a
    file-invalid report with the reason in ``errors`` and typed ``issues``.
    """
    try:
        data = load_tree_data(source, limits)
    except ParseError as exc:
        issue = ParseIssue(exc.code, exc.message, exc.line, exc.column, exc.item)
        return file_invalid_report(TreeCheck(None, (), (issue,), rejected=True), reference_quirks)
    check = check_tree_data(data, reference_quirks=reference_quirks)
    if check.tree is None:
        return file_invalid_report(check, reference_quirks)
    return check_tree(check.tree, reference_quirks=reference_quirks, size_limits=size_limits)
