"""Legolisation: turn a voxel grid (or a mesh, through trimesh) into library bricks that interlock,
connect to the ground and stand up.

The pipeline is StableText2Brick's (research/lego_anchors.md §1.6), rebuilt in the open:

1. **Greedy layout, layer by layer** (:func:`tile_layer`). Cells are visited in raster order and each
   uncovered cell becomes the min corner of the best library brick that fits in the layer's uncovered
   voxels. "Best" scores the footprint area, the number of distinct bricks it grips in the layers
   below and above (interlock), a penalty for every edge where its seam would sit exactly on a seam
   of those layers (stacked seams split a build into columns), and a small bonus for the layer's
   preferred orientation, which alternates between layers (x on even layers, y on odd ones) so that
   solid regions are crossed like masonry.
2. **Merging to reduce components.** Side-by-side bricks of one layer that belong to different
   stud-connected components and together form a library rectangle are merged; the regions (then
   whole layers) where two components touch are then re-tiled with component labels instead of
   brick labels, so the tiler prefers bricks that bridge them. A change is kept only when it lowers
   the component count. Finally every side-by-side pair that forms a library brick is merged
   (fewer bricks, one seam less, never a split).
3. **Repair.** Bricks not connected to the ground are dropped. Then, while the stability analysis
   (:func:`brickfield.lego.stability.analyze_stability`) reports failing bricks: re-tile the failing
   bricks' layers and their neighbours with other orientations and seeded tie-breaks ("delete and
   rebuild"), keeping the best rebuild that lowers the number of failing bricks; when no rebuild
   helps, remove the brick (from the failing ones and their near neighbours) whose removal leaves the
   fewest failing bricks and loses the fewest voxels, dropping whatever that disconnects. Every action
   is recorded as a :class:`RepairStep`.

Input grids are indexed ``[x, y, z]`` with z up (one voxel = one stud cell of one brick layer). They
are dropped to the ground (empty bottom layers removed) and, when larger than the world, downsampled
to fit (a cell is kept when any voxel mapping to it is set). The result's IoU is measured against
this prepared target (:attr:`LegolizeResult.target`). Everything is deterministic for a seed.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.sparse.csgraph import breadth_first_order

from brickfield.core.errors import BrickfieldError
from brickfield.lego.checks import check_structure
from brickfield.lego.library import DEFAULT_WORLD_DIM
from brickfield.lego.stability import StabilityConfig, StabilityResult, analyze_stability
from brickfield.lego.structure import Brick, Structure, world_dims
from brickfield.lego.tiling import (
    FOOTPRINTS,
    Layout,
    consolidate,
    greedy_layout,
    merge_components,
    retile,
    tile_layer,
)
from brickfield.lego.voxels import iou, voxelize

#: Largest world edge legolisation accepts (the stability analysis of bigger grids gets slow).
MAX_WORLD = 64



class LegolizeError(BrickfieldError):
    """The input cannot be legolised (not a 3-D grid, nothing set, unreadable mesh ...)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{message} [{code}]")
        self.code = code
        self.message = message


@dataclass(frozen=True)
class LegolizeConfig:
    """Options of :func:`legolize`.

    Attributes:
        world_dim: the brick world (an int is a cube); inputs are fitted into it.
        seed: seeds every randomised choice (layout noise, rebuild trials).
        randomness: amplitude of the score noise in the first layout (0 = the canonical layout;
            about 2-4 gives visibly different, equally valid layouts: StableText2Brick's variants).
        merge: run the component-merging phase.
        repair: drop ungrounded bricks and repair unstable ones (otherwise the greedy/merged layout
            is returned as is, and may fail the checks).
        max_repair_rounds: upper bound on stability repair actions.
        rebuild_trials: re-tilings tried per rebuild round.
        max_remove_candidates: bricks tried per removal round.
        stability: configuration of the stability analysis (defaults = BrickGPT's constants).
    """

    world_dim: int | tuple[int, int, int] = DEFAULT_WORLD_DIM
    seed: int = 0
    randomness: float = 0.0
    merge: bool = True
    repair: bool = True
    max_repair_rounds: int = 12
    rebuild_trials: int = 6
    max_remove_candidates: int = 10
    stability: StabilityConfig | None = None


@dataclass(frozen=True)
class RepairStep:
    """One repair action.

    ``action`` is ``"drop_ungrounded"`` (bricks with no stud path to the ground removed),
    ``"rebuild"`` (``layers`` re-tiled, same voxels) or ``"remove"`` (bricks removed because the
    structure could not stand otherwise). ``failing_before``/``failing_after`` count failing bricks
    (score >= 1 or floating) around the action (0/0 for ``drop_ungrounded``).
    """

    action: str
    layers: tuple[int, ...]
    bricks_removed: int
    voxels_removed: int
    failing_before: int
    failing_after: int

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable record."""
        return {"action": self.action, "layers": list(self.layers), "bricks_removed": self.bricks_removed,
                "voxels_removed": self.voxels_removed, "failing_before": self.failing_before,
                "failing_after": self.failing_after}


@dataclass
class LegolizeResult:
    """Outcome of :func:`legolize`.

    Attributes:
        structure: the bricks, bottom to top, each layer in x-descending then y-descending order
            (the order of StableText2Brick's structures).
        target: the prepared input grid the bricks were fitted to (world-sized, bool).
        iou: voxel IoU of ``structure`` with ``target``.
        valid: the structure passes every check (library, bounds, no collision, not floating,
            connected to the ground) and is not empty.
        stable: the stability analysis finds no failing brick.
        stability: the final stability analysis (None when the structure is empty).
        components_initial / components_merged / components_final: stud-connected components of the
            greedy layout, after merging, and of the result.
        merges: pairwise brick merges done by the merging phase; ``retiled_layers``: layer re-tilings
            it kept.
        repairs: the repair actions, in order.
        seconds: wall time per phase (``layout``, ``merge``, ``repair``, ``total``).
    """

    structure: Structure
    target: np.ndarray
    iou: float
    valid: bool
    stable: bool
    stability: StabilityResult | None
    components_initial: int
    components_merged: int
    components_final: int
    merges: int
    retiled_layers: int
    repairs: list[RepairStep] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def n_voxels(self) -> int:
        """Set voxels of the prepared target."""
        return int(np.count_nonzero(self.target))

    @property
    def voxels_lost(self) -> int:
        """Target voxels the result does not cover (removed by repair)."""
        return int(np.count_nonzero(self.target & ~voxelize(self.structure)))

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable summary (bricks as BrickGPT text, per-brick scores)."""
        return {
            "bricks": self.structure.to_text(), "n_bricks": len(self.structure), "n_voxels": self.n_voxels,
            "voxels_lost": self.voxels_lost, "iou": self.iou, "valid": self.valid, "stable": self.stable,
            "scores": [] if self.stability is None else self.stability.scores.tolist(),
            "components": {"initial": self.components_initial, "merged": self.components_merged,
                           "final": self.components_final},
            "merges": self.merges, "retiled_layers": self.retiled_layers,
            "repairs": [r.to_dict() for r in self.repairs], "seconds": dict(self.seconds),
        }


# ---------------------------------------------------------------------------------------------------
# input


def prepare_voxels(voxels: Any, world_dim: int | Sequence[int] = DEFAULT_WORLD_DIM) -> np.ndarray:
    """The world-sized bool grid legolisation works on: `voxels` dropped to the ground and, if larger
    than the world along any axis, downsampled (uniformly, keeping proportions) to fit.

    Raises :class:`LegolizeError` for anything that is not a non-empty 3-D numeric/bool grid.
    """
    dims = world_dims(world_dim)
    if max(dims) > MAX_WORLD:
        raise LegolizeError("bad_size", f"world edges must be at most {MAX_WORLD}, got {dims}")
    try:
        arr = np.asarray(voxels)
    except (TypeError, ValueError) as exc:
        raise LegolizeError("bad_voxels", f"voxels must be an array: {exc}") from None
    if arr.ndim != 3:
        raise LegolizeError("bad_voxels", f"voxels must be a 3-D grid [x, y, z], got shape {arr.shape}")
    if arr.dtype.kind not in "biuf":
        raise LegolizeError("bad_voxels", f"voxels must be boolean or numeric, got dtype {arr.dtype}")
    grid = np.nan_to_num(arr) != 0 if arr.dtype.kind == "f" else arr != 0
    if not grid.any():
        raise LegolizeError("empty", "the voxel grid has no set voxel")
    pts = np.argwhere(grid)
    lo = pts.min(axis=0)
    lo[:2] = 0  # keep the x/y placement; only drop to the ground
    pts -= lo
    extent = pts.max(axis=0) + 1
    scale = min(1.0, *(d / e for d, e in zip(dims, extent, strict=True)))
    if scale < 1.0:
        pts = np.floor(pts * scale).astype(np.int64)
    pts = np.minimum(pts, np.array(dims) - 1)
    out = np.zeros(dims, dtype=bool)
    out[pts[:, 0], pts[:, 1], pts[:, 2]] = True
    return out


# ---------------------------------------------------------------------------------------------------
# phase 3: repair


@dataclass
class _Verdict:
    result: StabilityResult | None
    failing: np.ndarray  # per brick of layout.bricks() order
    key: tuple[int, float]


def _verdict(layout: Layout, cfg: StabilityConfig) -> _Verdict:
    bricks = layout.bricks()
    if not bricks:
        return _Verdict(None, np.zeros(0, dtype=bool), (0, 0.0))
    res = analyze_stability(Structure((Brick(*b) for b in bricks), layout.dims), cfg)
    failing = (res.scores >= 1.0) | res.floating
    return _Verdict(res, failing, (int(failing.sum()), float(np.minimum(res.scores, 1.0).sum())))


def _rebuild(layout: Layout, v: _Verdict, cfg: LegolizeConfig, scfg: StabilityConfig,
             round_: int) -> tuple[Layout, _Verdict, tuple[int, ...]] | None:
    """Best re-tiling of the failing bricks' layers and their neighbours that lowers the failing
    count (same voxels, everything still grounded), or None."""
    bricks = layout.bricks()
    zs = {bricks[k][4] for k in np.flatnonzero(v.failing)}
    layers = tuple(sorted({zz for z in zs for zz in (z - 1, z, z + 1)
                           if 0 <= zz < layout.dims[2] and layout.layers[zz]}))
    best: tuple[Layout, _Verdict] | None = None
    for t in range(cfg.rebuild_trials):
        trial = layout.copy()
        rng = np.random.default_rng([cfg.seed, round_, t])
        for z in layers:
            retile(trial, z, by_component=False, prefer_x=(z + t + 1) % 2 == 0, rng=rng, noise=1.0 + t,
                    flip=(bool(t & 1), bool(t & 2)))
        if not trial.grounded().all():
            continue
        tv = _verdict(trial, scfg)
        if tv.key[0] < v.key[0] and (best is None or tv.key < best[1].key):
            best = (trial, tv)
    return None if best is None else (best[0], best[1], layers)


def _removal_candidates(layout: Layout, v: _Verdict, limit: int) -> list[int]:
    """Failing bricks and bricks within two stud hops of them, farthest from the ground first."""
    _, bricks, g = layout.graph()
    n = len(bricks)
    adj = (g + g.T).tocsr()
    near = set(np.flatnonzero(v.failing).tolist())
    for _ in range(2):
        near |= {int(j) for i in list(near) for j in adj.indices[adj.indptr[i]:adj.indptr[i + 1]] if j < n}
    order, pred = breadth_first_order(adj, n, directed=False, return_predecessors=True)
    depth = np.full(n + 1, n + 1, dtype=np.int64)
    depth[n] = 0
    for node in order[1:]:
        depth[node] = depth[pred[node]] + 1
    ranked = sorted(near, key=lambda k: (-depth[k], bricks[k][0] * bricks[k][1], bricks[k]))
    return ranked[:limit]


def _remove(layout: Layout, v: _Verdict, cfg: LegolizeConfig,
            scfg: StabilityConfig) -> tuple[Layout, _Verdict, int, int, tuple[int, ...]]:
    """Remove the candidate brick (plus what it disconnects) leaving the fewest failing bricks, then
    the fewest lost voxels; when none lowers the failing count, remove every failing brick."""
    bricks = layout.bricks()
    best: tuple[tuple[int, int, float], Layout, _Verdict, int, int] | None = None
    for k in _removal_candidates(layout, v, cfg.max_remove_candidates):
        trial = layout.copy()
        trial.remove({bricks[k]})
        nb, nv = trial.drop_ungrounded()
        tv = _verdict(trial, scfg)
        key = (tv.key[0], bricks[k][0] * bricks[k][1] + nv, tv.key[1])
        if tv.key[0] < v.key[0] and (best is None or key < best[0]):
            best = (key, trial, tv, nb + 1, bricks[k][0] * bricks[k][1] + nv)
    if best is not None:
        _, trial, tv, nb, nv = best
    else:
        trial = layout.copy()
        drop = {bricks[k] for k in np.flatnonzero(v.failing)}
        trial.remove(drop)
        nb, nv = trial.drop_ungrounded()
        tv, nb, nv = _verdict(trial, scfg), len(drop) + nb, sum(b[0] * b[1] for b in drop) + nv
    layers = tuple(sorted({b[4] for b in set(bricks) - set(trial.bricks())}))
    return trial, tv, nb, nv, layers


def _repair(layout: Layout, cfg: LegolizeConfig, scfg: StabilityConfig,
            steps: list[RepairStep]) -> tuple[Layout, _Verdict]:
    nb, nv = layout.drop_ungrounded()
    if nb:
        steps.append(RepairStep("drop_ungrounded", (), nb, nv, 0, 0))
    v = _verdict(layout, scfg)
    for round_ in range(cfg.max_repair_rounds):
        if v.key[0] == 0:
            break
        before = v.key[0]
        rebuilt = _rebuild(layout, v, cfg, scfg, round_)
        if rebuilt is not None:
            layout, v, layers = rebuilt
            steps.append(RepairStep("rebuild", layers, 0, 0, before, v.key[0]))
            continue
        layout, v, nb, nv, layers = _remove(layout, v, cfg, scfg)
        steps.append(RepairStep("remove", layers, nb, nv, before, v.key[0]))
    return layout, v


# ---------------------------------------------------------------------------------------------------
# entry points


def legolize(voxels: Any, config: LegolizeConfig | None = None) -> LegolizeResult:
    """Legolise a voxel grid ``[x, y, z]`` (z up; bool or numbers, nonzero = set) into library bricks.

    See the module docstring for the pipeline. Raises :class:`LegolizeError` for unusable input.
    """
    cfg = config or LegolizeConfig()
    scfg = cfg.stability or StabilityConfig()
    t0 = time.perf_counter()
    target = prepare_voxels(voxels, cfg.world_dim)
    rng = np.random.default_rng(cfg.seed)
    layout = greedy_layout(target, rng, cfg.randomness)
    n_bricks = sum(len(layer) for layer in layout.layers)
    if n_bricks > scfg.max_bricks:
        raise LegolizeError("too_large", f"{n_bricks} bricks exceed the stability analysis limit "
                                         f"of {scfg.max_bricks} (StabilityConfig.max_bricks)")
    comps_initial = layout.components()[0]
    t1 = time.perf_counter()
    merges = retiled = 0
    if cfg.merge:
        layout, merges, retiled = merge_components(layout, cfg.seed)
        merges += consolidate(layout)
    comps_merged = layout.components()[0]
    t2 = time.perf_counter()
    steps: list[RepairStep] = []
    if cfg.repair:
        layout, verdict = _repair(layout, cfg, scfg, steps)
    else:
        verdict = _verdict(layout, scfg)
    structure = layout.structure()  # same brick order as the verdict's scores
    t3 = time.perf_counter()
    stability = verdict.result
    report = check_structure(structure)
    return LegolizeResult(
        structure=structure, target=target, iou=iou(structure, target), valid=report.is_valid,
        stable=stability is not None and stability.stable, stability=stability,
        components_initial=comps_initial, components_merged=comps_merged,
        components_final=layout.components()[0], merges=merges, retiled_layers=retiled, repairs=steps,
        seconds={"layout": t1 - t0, "merge": t2 - t1, "repair": t3 - t2, "total": time.perf_counter() - t0})


def load_mesh(source: Any) -> Any:
    """A ``trimesh.Trimesh`` from a path (anything trimesh loads: .stl, .obj, .glb, .ply ...) or a
    trimesh object (a scene is concatenated into one mesh). Raises :class:`LegolizeError`."""
    try:
        import trimesh
    except ImportError:
        raise LegolizeError("missing_dependency", "meshes need trimesh (pip install trimesh)") from None
    if isinstance(source, trimesh.Trimesh):
        mesh = source
    else:
        try:
            mesh = source if isinstance(source, trimesh.Scene) else trimesh.load(str(source), force="mesh")
            if isinstance(mesh, trimesh.Scene):
                mesh = mesh.to_mesh()
        except Exception as exc:  # trimesh raises many unrelated types for bad files
            raise LegolizeError("bad_mesh", f"cannot load mesh {source}: {exc}") from None
    if not isinstance(mesh, trimesh.Trimesh) or len(mesh.faces) == 0:
        raise LegolizeError("bad_mesh", f"{source} holds no triangle mesh")
    if not np.isfinite(mesh.vertices).all() or float(mesh.extents.max()) <= 0:
        raise LegolizeError("bad_mesh", f"{source} has degenerate or non-finite vertices")
    return mesh


def voxelize_mesh(mesh: Any, size: int = DEFAULT_WORLD_DIM, up: str = "z") -> np.ndarray:
    """A solid bool grid ``[x, y, z]`` of `mesh` whose longest side spans `size` voxels.

    `up` names the mesh axis that points up (``"z"``, as in STL/CAD, or ``"y"``, as in glTF/OBJ);
    with ``"y"`` the mesh is rotated so that x = X, y = -Z, z = Y.
    The surface is voxelised by trimesh and the inside filled (closed meshes become solid).
    """
    if up not in ("y", "z"):
        raise LegolizeError("bad_axis", f"up must be 'y' or 'z', got {up!r}")
    if not 1 <= size <= MAX_WORLD:
        raise LegolizeError("bad_size", f"size must be in [1, {MAX_WORLD}], got {size}")
    mesh = load_mesh(mesh).copy()
    if up == "y":
        rot = np.array([[1, 0, 0, 0], [0, 0, -1, 0], [0, 1, 0, 0], [0, 0, 0, 1]], dtype=float)
        mesh.apply_transform(rot)
    mesh.apply_translation(-mesh.bounds[0])
    # trimesh rounds surface points to the nearest voxel centre, so `size - 1` pitches span `size`
    # voxels; rounding can still add one, hence the loop growing the pitch until the grid fits.
    pitch = float(mesh.extents.max()) / max(size - 1, 1)
    for _ in range(8):
        try:
            grid = mesh.voxelized(pitch=pitch).fill().matrix
        except Exception as exc:
            raise LegolizeError("bad_mesh", f"voxelisation failed: {exc}") from None
        if max(grid.shape) <= size:
            break
        pitch *= 1.0 + 1.0 / size
    if not grid.any():
        raise LegolizeError("empty", "the mesh voxelised to nothing")
    out = np.zeros((size, size, size), dtype=bool)
    sx, sy, sz = (min(a, size) for a in grid.shape)
    out[:sx, :sy, :sz] = grid[:sx, :sy, :sz]
    return out


def legolize_mesh(mesh: Any, size: int = DEFAULT_WORLD_DIM, up: str = "z",
                  config: LegolizeConfig | None = None) -> LegolizeResult:
    """Voxelise `mesh` (path or trimesh object) to a `size`-cube and legolise it (world = `size`)."""
    cfg = config or LegolizeConfig(world_dim=size)
    return legolize(voxelize_mesh(mesh, size, up), cfg)


__all__ = ["FOOTPRINTS", "LegolizeConfig", "LegolizeError", "LegolizeResult", "RepairStep", "legolize",
           "legolize_mesh", "load_mesh", "prepare_voxels", "tile_layer", "voxelize_mesh"]
