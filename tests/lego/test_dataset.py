import dataclasses
import importlib.util
import json
import sys

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from brickfield.lego.checks import check_structure
from brickfield.lego.cli_data import dataset_cmd, legolize_cmd
from brickfield.lego.dataset import (
    ST2B_COLUMNS,
    CaptionTarget,
    DatasetError,
    DatasetStats,
    build_dataset,
    format_for,
    generate_rows,
    procedural_suite,
    write_dataset,
)
from brickfield.lego.objects import CATEGORIES, make_object
from brickfield.lego.st2b import load_st2b
from brickfield.lego.stability import analyze_stability
from brickfield.lego.textformat import parse_structure

needs_pyarrow = pytest.mark.skipif(importlib.util.find_spec("pyarrow") is None,
                                   reason="pyarrow not installed")


@pytest.fixture(scope="module")
def rows():
    """14 rows, seed 5: at least one object of each of the first categories, two variants each."""
    stats = DatasetStats()
    out = list(generate_rows(14, seed=5, stats=stats))
    return out, stats


# --- objects ---------------------------------------------------------------------------------------

def test_at_least_eight_categories():
    assert len(CATEGORIES) >= 8
    assert {"table", "chair", "bench", "tower", "wall", "arch", "bridge", "stairs"} <= set(CATEGORIES)


@pytest.mark.parametrize("category", sorted(CATEGORIES))
def test_objects_stand_on_the_ground_inside_the_world_with_captions(category):
    objs = [make_object(category, seed) for seed in range(6)]
    for o in objs:
        assert o.category == category and o.voxels.shape == (20, 20, 20) and o.voxels.dtype == bool
        assert o.n_voxels > 0 and o.voxels[:, :, 0].any()
        assert 3 <= len(o.captions) <= 5 and len(set(o.captions)) == len(o.captions)
        assert all(c.strip() and c[0].isupper() and c.endswith(".") for c in o.captions)
    again = make_object(category, 3)
    assert again.params == objs[3].params and again.captions == objs[3].captions
    assert (again.voxels == objs[3].voxels).all()
    assert len({json.dumps(o.params, sort_keys=True) for o in objs}) >= 3  # seeds vary the shape


def test_unknown_category_is_refused():
    with pytest.raises(KeyError, match="known"):
        make_object("spaceship")


def test_captions_follow_the_parameters():
    for t in (make_object("tower", s) for s in range(30)):
        text = " ".join(t.captions).lower()
        assert ("round" in text or "cylindrical" in text) == t.params["round"]
    sized = 0
    for t in (make_object("table", s) for s in range(30)):
        for c in t.captions:
            if " by " in c:
                sized += 1
                assert f"{t.params['length']} by {t.params['width']} studs" in c
    assert sized > 0


# --- rows ------------------------------------------------------------------------------------------

def test_rows_are_verified_stable_and_match_their_scores(rows):
    out, stats = rows
    assert len(out) == 14 and stats.rows == 14
    assert len({r.structure_id for r in out}) == 14
    for r in out:
        s = parse_structure(r.bricks, strict=True)
        assert check_structure(s).is_valid
        res = analyze_stability(s)
        assert res.stable and len(r.scores) == len(s)
        assert np.allclose(res.scores, r.scores, atol=1e-5)
        assert r.structure_id.startswith(r.object_id) and r.object_id.startswith(r.category_id)


def test_rows_are_deterministic_and_seeds_differ(rows):
    out, _ = rows
    again = list(generate_rows(14, seed=5))
    assert again == out
    other = list(generate_rows(4, seed=6))
    assert [r.bricks for r in other] != [r.bricks for r in out[:4]]


def test_variants_share_captions_but_not_layouts(rows):
    out, stats = rows
    by_object: dict[str, list] = {}
    for r in out:
        by_object.setdefault(r.object_id, []).append(r)
    pairs = [v for v in by_object.values() if len(v) == 2]
    assert pairs
    for a, b in pairs:
        assert a.captions == b.captions and a.bricks != b.bricks
    assert stats.candidates == stats.rows + stats.dropped + stats.duplicates


def test_drops_are_counted_and_generation_stops():
    stats = DatasetStats()
    out = list(generate_rows(3, seed=0, min_iou=1.01, max_objects=4, stats=stats))
    assert out == [] and stats.objects == 4 and stats.dropped_shape == stats.candidates - stats.duplicates > 0
    assert stats.to_dict()["dropped"] == stats.dropped


def test_categories_subset_and_bad_arguments():
    out = list(generate_rows(3, seed=1, variants=1, categories=["wall"]))
    assert [r.category_id for r in out] == ["wall"] * 3
    for kwargs in ({"n": -1}, {"n": 1, "seed": -2}, {"n": 1, "variants": 0}, {"n": 1, "categories": ["ufo"]}):
        with pytest.raises(ValueError):
            list(generate_rows(**kwargs))


# --- writing ---------------------------------------------------------------------------------------

def test_parquet_has_the_st2b_columns_and_a_voxel_score_grid(rows, tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    out, _ = rows
    path = tmp_path / "d.parquet"
    assert write_dataset(out, path) == len(out)
    table = pq.read_table(path)
    assert tuple(table.column_names) == ST2B_COLUMNS and table.num_rows == len(out)
    first = table.slice(0, 1).to_pylist()[0]
    grid = np.asarray(first["stability_scores"])
    assert grid.shape == (20, 20, 20)
    s = parse_structure(first["bricks"])
    for b, score in zip(s, out[0].scores, strict=True):
        assert (grid[b.x:b.x + b.h, b.y:b.y + b.w, b.z] == score).all()
    assert np.count_nonzero(grid) <= sum(b.area for b in s)
    loaded = load_st2b(path)
    assert loaded.skipped == 0 and [r.scores for r in loaded.rows] == [r.scores for r in out]


def test_jsonl_per_brick_round_trip(rows, tmp_path):
    out, _ = rows
    path = tmp_path / "d.jsonl"
    write_dataset(out, path, scores_layout="per_brick")
    recs = [json.loads(line) for line in path.read_text().splitlines()]
    assert [list(r) for r in recs] == [list(ST2B_COLUMNS)] * len(out)
    assert recs[0]["stability_scores"] == list(out[0].scores)
    loaded = load_st2b(path)
    assert [(r.structure_id, r.captions, r.bricks) for r in loaded.rows] == \
        [(r.structure_id, r.captions, r.bricks) for r in out]


@needs_pyarrow
def test_formats_and_empty_output(tmp_path):
    assert format_for("a.jsonl") == "jsonl" and format_for("a.parquet") == "parquet"
    assert format_for("a.bin", "jsonl") == "jsonl"
    with pytest.raises(ValueError):
        format_for("a.parquet", "csv")
    with pytest.raises(ValueError):
        write_dataset([], tmp_path / "x.jsonl", scores_layout="cube")  # type: ignore[arg-type]
    assert write_dataset([], tmp_path / "empty.parquet") == 0
    assert load_st2b(tmp_path / "empty.parquet").rows == []


def test_build_dataset_reports_progress(tmp_path):
    seen = []
    stats = build_dataset(5, tmp_path / "d.jsonl", seed=2, on_row=lambda row, st: seen.append(st.rows))
    assert seen == [1, 2, 3, 4, 5] and stats.rows == 5
    assert len((tmp_path / "d.jsonl").read_text().splitlines()) == 5


# --- suite -----------------------------------------------------------------------------------------

def test_procedural_suite_is_deterministic_and_balanced():
    suite = procedural_suite(12, seed=3)
    assert len(suite) == 12 and suite == procedural_suite(12, seed=3)
    assert all(isinstance(t, CaptionTarget) for t in suite)
    assert len({t.category for t in suite}) >= 10 and len({t.id for t in suite}) == 12
    t = suite[0]
    assert check_structure(parse_structure(t.target)).is_valid and t.caption
    with pytest.raises(dataclasses.FrozenInstanceError):
        t.caption = "x"  # type: ignore[misc]
    assert procedural_suite(0) == []


# --- command ---------------------------------------------------------------------------------------

def _app() -> typer.Typer:
    app = typer.Typer()
    app.command("legolize")(legolize_cmd)
    app.command("dataset")(dataset_cmd)
    return app


runner = CliRunner()


@needs_pyarrow
def test_cli_dataset_writes_rows(tmp_path):
    out = tmp_path / "d.jsonl"
    r = runner.invoke(_app(), ["dataset", "--n", "4", "--out", str(out), "--seed", "1",
                               "--scores", "per-brick"])
    assert r.exit_code == 0, r.output
    assert "wrote 4 rows" in r.stdout
    recs = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(recs) == 4 and isinstance(recs[0]["stability_scores"][0], float)
    pq_out = tmp_path / "d.bin"
    r = runner.invoke(_app(), ["dataset", "--n", "2", "--out", str(pq_out), "--format", "parquet",
                               "--categories", "tower,wall", "--variants", "1"])
    assert r.exit_code == 0, r.output
    assert [row.category_id for row in load_st2b(pq_out).rows] == ["tower", "wall"]


def test_cli_dataset_help():
    r = runner.invoke(_app(), ["dataset", "--help"])
    assert r.exit_code == 0 and "--format" in r.stdout and "StableText2Brick" in r.stdout


@pytest.mark.parametrize("args", [
    ["--n", "2", "--format", "csv"],
    ["--n", "2", "--scores", "cube"],
    ["--n", "2", "--categories", "ufo"],
    ["--n", "0"],
    ["--n", "2", "--seed", "-1"],
])
def test_cli_dataset_usage_errors_exit_2(tmp_path, args):
    r = runner.invoke(_app(), ["dataset", "--out", str(tmp_path / "d.jsonl"), *args])
    assert r.exit_code == 2 and "Traceback" not in r.output
    assert not (tmp_path / "d.jsonl").exists()


def test_cli_dataset_unwritable_out_exits_2(tmp_path):
    r = runner.invoke(_app(), ["dataset", "--n", "1", "--out", str(tmp_path)])
    assert r.exit_code == 2 and "cannot write" in r.output
    assert r.exception is None or isinstance(r.exception, SystemExit)


def test_parquet_without_pyarrow_is_a_typed_error(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(DatasetError) as info:
        build_dataset(1, tmp_path / "d.parquet")
    assert info.value.code == "missing_dependency"
    r = runner.invoke(_app(), ["dataset", "--n", "1", "--out", str(tmp_path / "d.parquet")])
    assert r.exit_code == 2 and "pyarrow" in r.output
    assert build_dataset(1, tmp_path / "d.jsonl").rows == 1  # JSONL needs no pyarrow
