import json
import sys
from itertools import pairwise

import numpy as np
import pytest
import typer
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from typer.testing import CliRunner

from brickfield.core.errors import BrickfieldError
from brickfield.lego.checks import check_structure
from brickfield.lego.cli_data import dataset_cmd, legolize_cmd
from brickfield.lego.legolize import (
    FOOTPRINTS,
    LegolizeConfig,
    LegolizeError,
    legolize,
    legolize_mesh,
    prepare_voxels,
    tile_layer,
    voxelize_mesh,
)
from brickfield.lego.library import brick_type
from brickfield.lego.stability import StabilityConfig, analyze_stability
from brickfield.lego.textformat import parse_structure
from brickfield.lego.voxels import voxelize

N = 20


def _cells() -> np.ndarray:
    return np.indices((N, N, N)).astype(float) + 0.5


def sphere(r: float = 8.0) -> np.ndarray:
    g = _cells()
    return ((g[0] - 10) ** 2 + (g[1] - 10) ** 2 + (g[2] - 10) ** 2) <= r * r


def cylinder() -> np.ndarray:
    g = _cells()
    return ((g[0] - 10) ** 2 + (g[1] - 10) ** 2 <= 30) & (g[2] < 12)


def torus() -> np.ndarray:
    g = _cells()
    d = np.sqrt((g[0] - 10) ** 2 + (g[1] - 10) ** 2)
    return (d - 6.5) ** 2 + (g[2] - 3) ** 2 <= 2.5 ** 2


def pyramid(bx: int = 17, by: int = 14) -> np.ndarray:
    v = np.zeros((N, N, N), dtype=bool)
    a = 0
    while bx - 2 * a > 0 and by - 2 * a > 0:
        v[1 + a:1 + bx - a, 3 + a:3 + by - a, a] = True
        a += 1
    return v


def box_with_hole() -> np.ndarray:
    v = np.zeros((N, N, N), dtype=bool)
    v[2:18, 2:18, 0:10] = True
    v[7:13, 7:13, :] = False
    return v


def leaning(step: int) -> np.ndarray:
    """A 3x3 (step 2: 2x2) column leaning one stud every `step` layers."""
    v = np.zeros((N, N, N), dtype=bool)
    side = 3 if step == 2 else 2
    for z in range(N):
        v[z // step:z // step + side, 0:side, z] = True
    return v


def _covers_exactly(placements, mask) -> bool:
    cover = np.zeros(mask.shape, dtype=int)
    for h, w, x, y in placements:
        assert brick_type(h, w) is not None
        cover[x:x + h, y:y + w] += 1
    return bool(((cover == 1) == mask).all() and cover.max() <= 1)


# --- one layer -------------------------------------------------------------------------------------

@settings(derandomize=True, max_examples=60, deadline=None)
@given(arrays(bool, (9, 7)), st.booleans(), st.integers(0, 3))
def test_tile_layer_covers_every_cell_once_with_library_bricks(mask, prefer_x, seed):
    below = np.where(np.random.default_rng(seed).random(mask.shape) < 0.5, seed, -1)
    placed = tile_layer(mask, below, prefer_x=prefer_x, rng=np.random.default_rng(seed), noise=2.0)
    assert _covers_exactly(placed, mask)


def test_tile_layer_prefers_the_layer_orientation_and_crosses_the_layer_below():
    mask = np.ones((12, 12), dtype=bool)
    along_x = tile_layer(mask, prefer_x=True)
    assert _covers_exactly(along_x, mask)
    assert all(h > w for h, w, _, _ in along_x if h != w)
    below = np.full((12, 12), -1)
    for k, (h, w, x, y) in enumerate(along_x):
        below[x:x + h, y:y + w] = k
    crossed = tile_layer(mask, below, prefer_x=False)
    assert sum(h < w for h, w, _, _ in crossed) > len(crossed) // 2


def test_footprints_are_the_fourteen_library_dimension_strings_largest_first():
    assert len(FOOTPRINTS) == 14
    assert FOOTPRINTS[0][0] * FOOTPRINTS[0][1] == 12 and FOOTPRINTS[-1] == (1, 1)


# --- whole shapes ----------------------------------------------------------------------------------

@pytest.mark.parametrize("make", [sphere, cylinder, torus, pyramid, box_with_hole], ids=lambda f: f.__name__)
def test_shapes_become_valid_stable_exact_structures(make):
    v = make()
    res = legolize(v)
    assert res.valid and res.stable and res.iou == 1.0
    assert check_structure(res.structure).is_valid
    assert (voxelize(res.structure) == res.target).all() and res.n_voxels == int(v.sum())
    assert res.components_final == 1 and res.repairs == []
    assert res.stability is not None and len(res.stability.scores) == len(res.structure)
    keys = [(b.z, -b.x, -b.y) for b in res.structure]
    assert keys == sorted(keys)  # bottom to top, then x and y descending (StableText2Brick's order)


def test_staggered_seams_tie_a_thin_wall_into_one_piece():
    v = np.zeros((N, N, N), dtype=bool)
    v[0:20, 0:1, 0:6] = True
    res = legolize(v, LegolizeConfig(merge=False))
    assert res.components_initial == 1
    seams = [{b.x for b in res.structure if b.z == z and b.x > 0} for z in range(6)]
    assert all(not (a & b) for a, b in pairwise(seams))


def test_merging_joins_the_border_strips_greedy_tiling_leaves():
    v = pyramid()
    plain = legolize(v, LegolizeConfig(merge=False))
    merged = legolize(v)
    assert plain.components_initial > 1 and plain.components_final == plain.components_initial
    assert merged.components_initial == plain.components_initial and merged.components_merged == 1
    assert merged.retiled_layers + merged.merges >= 1
    assert merged.valid and merged.stable and merged.iou == 1.0


def test_same_seed_same_layout_and_randomised_variants_differ():
    v = sphere(6)
    a, b = legolize(v), legolize(v)
    assert a.structure.to_text() == b.structure.to_text()
    c = legolize(v, LegolizeConfig(seed=7, randomness=4.0))
    assert c.structure.to_text() != a.structure.to_text()
    assert c.valid and c.stable and c.iou == 1.0


# --- repair ----------------------------------------------------------------------------------------

def test_a_floating_island_is_dropped_and_reported():
    v = np.zeros((N, N, N), dtype=bool)
    v[0:4, 0:4, 0:4] = True
    v[10:14, 10:14, 6:9] = True
    res = legolize(v)
    assert res.valid and res.stable
    assert [r.action for r in res.repairs] == ["drop_ungrounded"]
    assert res.repairs[0].voxels_removed == 48 and res.voxels_lost == 48
    assert res.iou == pytest.approx(64 / 112)


def test_rebuild_repairs_a_leaning_column_without_losing_voxels():
    v = leaning(2)
    unrepaired = legolize(v, LegolizeConfig(repair=False))
    assert not unrepaired.stable
    res = legolize(v)
    assert res.stable and res.valid and res.iou == 1.0
    assert res.repairs and res.repairs[0].action == "rebuild"
    assert res.repairs[0].failing_before > res.repairs[-1].failing_after == 0


def test_removal_is_the_last_resort_for_a_shape_that_cannot_stand():
    res = legolize(leaning(1))
    assert res.valid and res.stable
    assert any(r.action == "remove" for r in res.repairs)
    assert 0 < res.iou < 1 and res.voxels_lost == sum(r.voxels_removed for r in res.repairs)
    assert analyze_stability(res.structure).stable  # an independent re-check


def test_a_one_layer_slab_on_legs_is_cut_back_to_what_connects():
    v = np.zeros((N, N, N), dtype=bool)
    v[0:16, 0:12, 5] = True
    for x0 in (0, 15):
        for y0 in (0, 11):
            v[x0, y0, 0:5] = True
    res = legolize(v)
    assert res.valid and res.stable
    assert res.components_initial > 1 and res.repairs[0].action == "drop_ungrounded"


# --- input -----------------------------------------------------------------------------------------

def test_prepare_voxels_drops_to_the_ground_and_downsamples():
    v = np.zeros((40, 40, 40), dtype=np.uint8)
    v[0:40, 0:20, 10:30] = 1
    out = prepare_voxels(v, 20)
    assert out.shape == (20, 20, 20) and out.dtype == bool
    pts = np.argwhere(out)
    assert pts.min(axis=0).tolist() == [0, 0, 0] and pts.max(axis=0).tolist() == [19, 9, 9]
    small = np.zeros((5, 5, 5))
    small[1, 2, 3] = 0.5
    assert np.argwhere(prepare_voxels(small)).tolist() == [[1, 2, 0]]


@pytest.mark.parametrize(("bad", "code"), [
    (np.zeros((4, 4)), "bad_voxels"),
    (np.zeros((4, 4, 4)), "empty"),
    (np.array([[["a"]]]), "bad_voxels"),
    (np.full((2, 2, 2), None), "bad_voxels"),
])
def test_unusable_grids_raise_typed_errors(bad, code):
    with pytest.raises(LegolizeError) as info:
        legolize(bad)
    assert info.value.code == code and isinstance(info.value, BrickfieldError)


def test_world_size_and_brick_count_are_bounded():
    with pytest.raises(LegolizeError):
        prepare_voxels(np.ones((2, 2, 2)), 65)
    with pytest.raises(LegolizeError) as info:
        legolize(sphere(5), LegolizeConfig(stability=StabilityConfig(max_bricks=5)))
    assert info.value.code == "too_large"


def test_result_to_dict_is_json():
    res = legolize(pyramid(6, 6))
    d = json.loads(json.dumps(res.to_dict()))
    assert d["n_bricks"] == len(res.structure) and d["stable"] is True
    assert parse_structure(d["bricks"]) == res.structure


# --- meshes ----------------------------------------------------------------------------------------

def test_a_trimesh_primitive_legolises_stably():
    trimesh = pytest.importorskip("trimesh")
    res = legolize_mesh(trimesh.creation.icosphere(subdivisions=2, radius=1.0), size=12)
    assert res.valid and res.stable and res.iou == 1.0
    assert res.structure.world_dim == (12, 12, 12)
    assert max(np.argwhere(res.target).max(axis=0)) == 11


def test_mesh_up_axis_and_files(tmp_path):
    trimesh = pytest.importorskip("trimesh")
    rod = trimesh.creation.box(extents=(1.0, 4.0, 1.0))  # long along y
    path = tmp_path / "rod.stl"
    rod.export(path)
    z_up = np.argwhere(voxelize_mesh(path, 16, up="z")).max(axis=0)
    y_up = np.argwhere(voxelize_mesh(path, 16, up="y")).max(axis=0)
    assert z_up[1] == 15 and z_up[2] < 8  # lying along y
    assert y_up[2] == 15 and y_up[1] < 8  # standing up
    (tmp_path / "junk.stl").write_bytes(b"not a mesh at all")
    with pytest.raises(LegolizeError):
        voxelize_mesh(tmp_path / "junk.stl")
    with pytest.raises(LegolizeError):
        voxelize_mesh(path, up="x")


def test_meshes_without_trimesh_are_a_typed_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "trimesh", None)
    with pytest.raises(LegolizeError) as info:
        voxelize_mesh("anything.stl")
    assert info.value.code == "missing_dependency"


# --- command ---------------------------------------------------------------------------------------

def _app() -> typer.Typer:
    app = typer.Typer()
    app.command("legolize")(legolize_cmd)
    app.command("dataset")(dataset_cmd)
    return app


runner = CliRunner()


def test_cli_help_names_the_arguments():
    r = runner.invoke(_app(), ["legolize", "--help"])
    assert r.exit_code == 0 and "VOXELS|MESH" in r.stdout and "--size" in r.stdout


def test_cli_legolizes_a_npy_grid(tmp_path):
    npy = tmp_path / "v.npy"
    np.save(npy, box_with_hole())
    r = runner.invoke(_app(), ["legolize", str(npy)])
    assert r.exit_code == 0, r.output
    assert check_structure(parse_structure(r.stdout)).is_valid
    out = tmp_path / "v.txt"
    r = runner.invoke(_app(), ["legolize", str(npy), "--out", str(out), "--json"])
    assert r.exit_code == 0
    assert json.loads(r.stdout)["bricks"] == out.read_text()


def test_cli_legolizes_a_mesh(tmp_path):
    trimesh = pytest.importorskip("trimesh")
    path = tmp_path / "c.obj"
    trimesh.creation.cylinder(radius=1.0, height=2.0).export(path)
    r = runner.invoke(_app(), ["legolize", str(path), "--size", "10", "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["valid"] and d["stable"]
    assert all(b.in_bounds(10) for b in parse_structure(d["bricks"]))


def test_cli_unstable_result_exits_1(tmp_path):
    npy = tmp_path / "lean.npy"
    np.save(npy, leaning(1))
    r = runner.invoke(_app(), ["legolize", str(npy), "--no-repair"])
    assert r.exit_code == 1 and "UNSTABLE" in r.output


@pytest.mark.parametrize("setup", ["missing", "flat", "pickled", "garbage", "bad_up", "bad_out"])
def test_cli_bad_input_exits_2_without_traceback(tmp_path, setup):
    path = tmp_path / "x.npy"
    args = ["legolize", str(path)]
    if setup == "flat":
        np.save(path, np.ones((3, 3)))
    elif setup == "pickled":
        np.save(path, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    elif setup == "garbage":
        path = tmp_path / "x.glb"
        path.write_bytes(b"\x00" * 50)
        args = ["legolize", str(path)]
    elif setup in ("bad_up", "bad_out"):
        np.save(path, np.ones((2, 2, 2), dtype=bool))
        args += ["--up", "x"] if setup == "bad_up" else ["--out", str(tmp_path)]
    r = runner.invoke(_app(), args)
    assert r.exit_code == 2, r.output
    assert "error" in r.output.lower() and "Traceback" not in r.output
    assert r.exception is None or isinstance(r.exception, SystemExit)
