"""PVPO rewards (research/lego_anchors.md §4): ``R = (1 - λ)·R_phys + λ·R_vox``.

* ``R_phys`` = fraction of valid items (bricks and malformed brick lines) from
  :func:`brickfield.lego.checks.check_structure`; 0 for an empty design.
* ``R_vox`` = ``exp(-d / scale)`` of the symmetric voxel-space distance ``d`` between the design
  and the target (:mod:`brickfield.lego.voxels`; default scale 2 voxels), optionally after the best
  integer translation within ``align``.

All functions are pure and deterministic, so they can be used directly as RL reward functions.
:func:`pvpo_reward_from_text` takes raw model output, parses it leniently and never raises on bad
text: unusable text gets reward 0 with a reason code.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from brickfield.core.errors import ParseError
from brickfield.lego.checks import CheckReport, check_structure
from brickfield.lego.structure import Structure
from brickfield.lego.textformat import ParsedText, parse_text
from brickfield.lego.voxels import DEFAULT_SCALE, DEFAULT_TAU, VoxelComparison, compare

DEFAULT_LAMBDA = 0.5

Target = Structure | np.ndarray | str


def _target_voxels(target: Target) -> Structure | np.ndarray:
    """A target given as text is parsed strictly-enough: it must parse without issues."""
    if isinstance(target, str):
        parsed = parse_text(target)
        if parsed.issues:
            raise ParseError.from_issues(parsed.issues)
        return parsed.structure
    return target


def _check_lam(lam: float) -> None:
    if not 0.0 <= lam <= 1.0:
        raise ValueError(f"lam must be in [0, 1], got {lam}")


def r_phys(design: Structure | ParsedText | CheckReport) -> float:
    """Fraction of valid items (0.0 for an empty design)."""
    report = design if isinstance(design, CheckReport) else check_structure(design)
    return report.fraction_valid


def r_vox(design: Structure | ParsedText | np.ndarray, target: Target, *, scale: float = DEFAULT_SCALE,
          align: int | Sequence[int] = 0) -> float:
    """Voxel reward in [0, 1]: ``exp(-d/scale)`` of the symmetric distance to `target` (1 iff equal
    occupancy, up to the allowed translation; 0 when exactly one side is empty)."""
    cand = design.structure if isinstance(design, ParsedText) else design
    return compare(cand, _target_voxels(target), scale=scale, align=align).reward


@dataclass
class PVPOReward:
    """A PVPO reward with its parts. ``reason`` is set when the reward is 0 by fiat (bad input)."""

    reward: float
    r_phys: float
    r_vox: float
    lam: float
    reason: str | None = None
    message: str | None = None
    checks: CheckReport | None = None
    geometry: VoxelComparison | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable record (per-item check detail omitted; see CheckReport.to_dict)."""
        out: dict[str, Any] = {"reward": self.reward, "r_phys": self.r_phys, "r_vox": self.r_vox,
                               "lam": self.lam, "reason": self.reason, "message": self.message}
        if self.checks is not None:
            out["checks"] = {k: v for k, v in self.checks.to_dict().items() if k != "items"}
        if self.geometry is not None:
            out["geometry"] = self.geometry.to_dict()
        return out


def pvpo_details(design: Structure | ParsedText, target: Target, lam: float = DEFAULT_LAMBDA, *,
                 scale: float = DEFAULT_SCALE, align: int | Sequence[int] = 0,
                 tau: float = DEFAULT_TAU, checks: CheckReport | None = None) -> PVPOReward:
    """PVPO reward with its components, the check report and the geometry comparison.

    `checks` is ``check_structure(design)`` when the caller already has it (not recomputed then)."""
    _check_lam(lam)
    report = check_structure(design) if checks is None else checks
    cand = design.structure if isinstance(design, ParsedText) else design
    geom = compare(cand, _target_voxels(target), scale=scale, align=align, tau=tau)
    rp, rv = report.fraction_valid, geom.reward
    return PVPOReward((1.0 - lam) * rp + lam * rv, rp, rv, lam, checks=report, geometry=geom)


def pvpo_reward(design: Structure | ParsedText, target: Target, lam: float = DEFAULT_LAMBDA, *,
                scale: float = DEFAULT_SCALE, align: int | Sequence[int] = 0) -> float:
    """``(1 - lam)·R_phys + lam·R_vox`` in [0, 1]; ``lam`` = 0.5 is the paper's best setting."""
    return pvpo_details(design, target, lam, scale=scale, align=align).reward


def pvpo_reward_from_text(text: str | bytes, target: Target, lam: float = DEFAULT_LAMBDA, *,
                          scale: float = DEFAULT_SCALE, align: int | Sequence[int] = 0,
                          **parse_kwargs: Any) -> PVPOReward:
    """PVPO reward of raw model output. Never raises on bad text.

    The text is parsed leniently (code fences, prose and bullets are tolerated; malformed brick
    lines count as invalid items). Text that cannot be used at all gets reward 0 and ``reason``:
    the ParseError code (``too_large``, ``too_many_bricks``, ...) or ``no_bricks`` when nothing
    brick-like was found. Errors in the *target* or arguments still raise: they are caller bugs.
    """
    _check_lam(lam)
    tgt = _target_voxels(target)
    try:
        parsed = parse_text(text, **parse_kwargs)
    except ParseError as exc:
        return PVPOReward(0.0, 0.0, 0.0, lam, reason=exc.code, message=exc.message)
    if not parsed.structure.bricks and not parsed.issues:
        return PVPOReward(0.0, 0.0, 0.0, lam, reason="no_bricks",
                          message="no brick lines found (expected `HxW (x,y,z)` per line)")
    return pvpo_details(parsed, tgt, lam, scale=scale, align=align)
