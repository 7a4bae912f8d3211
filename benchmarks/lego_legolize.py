"""Legolisation quality and speed (brickfield.lego.legolize) on procedural voxel shapes.

For each shape: set voxels, bricks in the result, stud-connected components of the greedy layout and
after the merging phase, voxel IoU of the result with the input, the stability verdict, the repair
actions taken, and the median wall time of one `legolize` call. The baseline, measured in the same
run, is the greedy layer tiling alone (`tiling.greedy_layout`: no merging, no stability analysis, no
repair); "x greedy" is the full pipeline's time over it. Shapes: analytic solids (sphere, cylinder,
torus, stepped pyramid, box with a hole), one procedural object per dataset category (seed 0), two
trimesh primitives voxelised from meshes, two shapes that need repair (a column leaning 45 degrees,
a floating island), and, when ../shared is present, the voxels of BrickGPT's own legolised examples
(src/mesh2brick/tests), with BrickGPT's brick count for comparison.

    .venv/bin/python benchmarks/lego_legolize.py [--repeats 3]
    taskset -c 1 .venv/bin/python benchmarks/lego_legolize.py   # one core, steadier numbers
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from brickfield.lego.legolize import legolize, prepare_voxels, voxelize_mesh
from brickfield.lego.objects import CATEGORIES, make_object
from brickfield.lego.textformat import parse_structure
from brickfield.lego.tiling import greedy_layout
from brickfield.lego.voxels import voxelize

N = 20
MESH2BRICK = Path(__file__).resolve().parents[1].parent / "shared/reference/brickgpt/src/mesh2brick/tests"


def _cells() -> np.ndarray:
    return np.indices((N, N, N)).astype(float) + 0.5


def sphere() -> np.ndarray:
    g = _cells()
    return ((g[0] - 10) ** 2 + (g[1] - 10) ** 2 + (g[2] - 10) ** 2) <= 9.5 ** 2


def cylinder() -> np.ndarray:
    g = _cells()
    return ((g[0] - 10) ** 2 + (g[1] - 10) ** 2) <= 7.5 ** 2


def torus() -> np.ndarray:
    g = _cells()
    d = np.sqrt((g[0] - 10) ** 2 + (g[1] - 10) ** 2)
    return (d - 6.5) ** 2 + (g[2] - 3) ** 2 <= 3.0 ** 2


def pyramid() -> np.ndarray:
    v = np.zeros((N, N, N), dtype=bool)
    for a in range(10):
        v[a:N - a, a:N - a, a] = True
    return v


def box_with_hole() -> np.ndarray:
    v = np.zeros((N, N, N), dtype=bool)
    v[2:18, 2:18, 0:12] = True
    v[7:13, 7:13, :] = False
    return v


def leaning() -> np.ndarray:
    v = np.zeros((N, N, N), dtype=bool)
    for z in range(N):
        v[z:z + 2, 0:2, z] = True
    return v


def island() -> np.ndarray:
    v = np.zeros((N, N, N), dtype=bool)
    v[0:6, 0:6, 0:5] = True
    v[10:16, 10:16, 8:12] = True
    return v


def _mesh(kind: str) -> Callable[[], np.ndarray]:
    def make() -> np.ndarray:
        import trimesh

        mesh = (trimesh.creation.icosphere(subdivisions=3) if kind == "icosphere"
                else trimesh.creation.capsule(height=2.0, radius=0.8))
        return voxelize_mesh(mesh, N)
    return make


def shapes() -> list[tuple[str, Callable[[], np.ndarray], int | None]]:
    """(name, voxel maker, BrickGPT's brick count or None)."""
    out: list[tuple[str, Callable[[], np.ndarray], int | None]] = [
        ("sphere r9.5", sphere, None), ("cylinder r7.5", cylinder, None), ("torus", torus, None),
        ("pyramid 20", pyramid, None), ("box with hole", box_with_hole, None)]
    out += [(f"object: {c}", lambda c=c: make_object(c, 0).voxels, None) for c in CATEGORIES]
    out += [("mesh: icosphere", _mesh("icosphere"), None), ("mesh: capsule", _mesh("capsule"), None),
            ("repair: leaning 45°", leaning, None), ("repair: island", island, None)]
    if MESH2BRICK.is_dir():
        for path in sorted(MESH2BRICK.glob("*.txt")):
            s = parse_structure(path.read_text())
            out.append((f"BrickGPT {path.stem}", lambda s=s: voxelize(s), len(s)))
    return out


def median_ms(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    table = Table(title=f"legolize on {N}^3 grids (median of {args.repeats}; baseline: greedy tiling alone)")
    cols = ("shape", "voxels", "bricks", "BrickGPT bricks", "comps greedy", "comps merged", "IoU", "stable",
            "repairs", "ms", "greedy ms", "x greedy")
    for col in cols:
        table.add_column(col, justify="left" if col in ("shape", "repairs") else "right")
    totals = []
    for name, make, ref_bricks in shapes():
        vox = make()
        res = legolize(vox)
        ms = median_ms(lambda v=vox: legolize(v), args.repeats)
        target = prepare_voxels(vox)
        base = median_ms(lambda t=target: greedy_layout(t, np.random.default_rng(0), 0.0),
                         max(args.repeats, 5))
        repairs = ", ".join(f"{r.action}({r.bricks_removed})" if r.bricks_removed else r.action
                            for r in res.repairs) or "-"
        totals.append(ms)
        table.add_row(name, str(res.n_voxels), str(len(res.structure)),
                      "-" if ref_bricks is None else str(ref_bricks), str(res.components_initial),
                      str(res.components_merged), f"{res.iou:.3f}", "yes" if res.stable else "no", repairs,
                      f"{ms:.0f}", f"{base:.1f}", f"{ms / base:.1f}")
    Console().print(table)
    print(f"median legolize time over {len(totals)} shapes: {statistics.median(totals):.0f} ms")


if __name__ == "__main__":
    main()
