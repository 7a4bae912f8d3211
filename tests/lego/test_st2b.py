import json

import numpy as np
import pytest

from brickfield.core.errors import BrickfieldError
from brickfield.lego.dataset import CaptionTarget
from brickfield.lego.legolize import legolize
from brickfield.lego.st2b import ST2BError, iter_st2b, load_st2b, split_files, st2b_suite, validate_row
from brickfield.lego.voxels import voxelize

from ._strategies import REFERENCE

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

TOWER = "2x4 (0,0,0)\n4x2 (0,0,1)\n2x4 (0,0,2)\n"
STEP = "2x2 (5,5,0)\n2x2 (5,6,1)\n"


def rec(sid: str, bricks: str = TOWER, captions=("A short tower.", "Three stacked bricks."),
        scores=None, category: str = "tower") -> dict:
    return {"structure_id": sid, "object_id": f"obj-{sid}", "category_id": category,
            "captions": list(captions), "bricks": bricks,
            "stability_scores": [0.0] * bricks.count("\n") if scores is None else scores}


GOOD = [rec("a"), rec("b", STEP, ("A tiny step.",), [0.0, 0.25]),
        rec("c", captions=("One.", "Two.", "Three."))]

# Bad rows that still fit the parquet schema (types right, values wrong), with the expected code.
BAD = [
    (rec("x1", captions=()), "bad_captions"),
    (rec("x2", captions=("ok", "  ")), "bad_captions"),
    (rec("x3", bricks="2x4 (0,0,0) oops\n"), "bad_bricks"),
    (rec("x4", bricks=""), "bad_bricks"),
    (rec("x5", bricks="3x3 (0,0,0)\n"), "invalid_bricks"),
    (rec("x6", bricks="2x4 (19,0,0)\n"), "invalid_bricks"),
    (rec("x7", bricks="2x4 (0,0,0)\n2x2 (1,1,0)\n"), "invalid_bricks"),
    (rec("x8", scores=[0.0]), "bad_scores"),
    (rec("x9", scores=[0.0, 1.5, 0.0]), "bad_scores"),
    (rec("", scores=[0.0, 0.0, 0.0]), "bad_id"),
]


def _table(records):
    return pa.Table.from_pylist(records)


def _write_parquet(path, records):
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(_table(records), path)


def _write_arrow(path, records, stream: bool = True):
    path.parent.mkdir(parents=True, exist_ok=True)
    table = _table(records)
    with pa.OSFile(str(path), "wb") as sink:
        writer = pa.ipc.new_stream(sink, table.schema) if stream else pa.ipc.new_file(sink, table.schema)
        with writer:
            writer.write_table(table)


def _saved_split(folder, records):
    """What datasets' save_to_disk writes for one split."""
    _write_arrow(folder / "data-00000-of-00001.arrow", records)
    (folder / "state.json").write_text(json.dumps({"_data_files": [{"filename": "data-00000-of-00001.arrow"}],
                                                   "_fingerprint": "x", "_split": None}))
    (folder / "dataset_info.json").write_text("{}")


# --- layouts ---------------------------------------------------------------------------------------

def test_single_parquet_file_with_bad_rows_skipped_and_typed(tmp_path):
    path = tmp_path / "st2b.parquet"
    records = [GOOD[0], *(r for r, _ in BAD), GOOD[1]]
    _write_parquet(path, records)
    data = load_st2b(path)
    assert [r.structure_id for r in data.rows] == ["a", "b"]
    assert data.skipped == len(BAD) and len(data.errors) == len(BAD)
    assert [e.code for e in data.errors] == [code for _, code in BAD]
    assert [e.row for e in data.errors] == list(range(1, 1 + len(BAD)))
    assert all(isinstance(e, BrickfieldError) for e in data.errors)
    assert data.errors[0].structure_id == "x1" and data.errors[0].field == "captions"
    assert json.loads(json.dumps(data.errors[4].to_dict()))["code"] == "invalid_bricks"


def test_on_error_raise_and_max_errors(tmp_path):
    path = tmp_path / "st2b.parquet"
    _write_parquet(path, [GOOD[0], BAD[4][0], GOOD[1]])
    with pytest.raises(ST2BError) as info:
        load_st2b(path, on_error="raise")
    assert info.value.code == "invalid_bricks" and info.value.row == 1
    data = load_st2b(path, max_errors=0)
    assert data.skipped == 1 and data.errors == [] and len(data) == 2
    with pytest.raises(ValueError):
        load_st2b(path, on_error="ignore")  # type: ignore[arg-type]


def test_hub_parquet_shards_layout(tmp_path):
    root = tmp_path / "StableText2Brick"
    _write_parquet(root / "data" / "train-00000-of-00002.parquet", [GOOD[0]])
    _write_parquet(root / "data" / "train-00001-of-00002.parquet", [GOOD[1], GOOD[2]])
    _write_parquet(root / "data" / "test-00000-of-00001.parquet", [rec("t")])
    (root / "README.md").write_text("card")
    train = load_st2b(root, "train")
    assert [r.structure_id for r in train.rows] == ["a", "b", "c"]
    assert [p.name for p in train.files] == ["train-00000-of-00002.parquet", "train-00001-of-00002.parquet"]
    assert [r.structure_id for r in load_st2b(root, "test").rows] == ["t"]
    alt = tmp_path / "alt"
    _write_parquet(alt / "train" / "part-0.parquet", [GOOD[2]])
    assert [r.structure_id for r in load_st2b(alt).rows] == ["c"]


def test_datasets_save_to_disk_layout(tmp_path):
    root = tmp_path / "saved"
    _saved_split(root / "train", [GOOD[0], BAD[0][0], GOOD[1]])
    _saved_split(root / "test", [GOOD[2]])
    (root / "dataset_dict.json").write_text(json.dumps({"splits": ["train", "test"]}))
    train = load_st2b(root, "train")
    assert [r.structure_id for r in train.rows] == ["a", "b"] and train.skipped == 1
    assert [r.structure_id for r in load_st2b(root, "test").rows] == ["c"]
    with pytest.raises(ST2BError) as info:
        load_st2b(root, "validation")
    assert info.value.code == "no_split"
    single = tmp_path / "single"
    _saved_split(single, GOOD)
    assert len(load_st2b(single)) == 3


def test_arrow_ipc_file_and_jsonl(tmp_path):
    arrow = tmp_path / "d.arrow"
    _write_arrow(arrow, GOOD, stream=False)
    assert len(load_st2b(arrow)) == 3
    lines = [json.dumps(GOOD[0]), "{not json", "[1, 2]", "",
             json.dumps({**GOOD[1], "captions": "A single caption."}),
             json.dumps({**GOOD[2], "captions": [1, 2]}),
             json.dumps({**GOOD[2], "bricks": 7}),
             json.dumps({**GOOD[2], "structure_id": True}),
             json.dumps({**GOOD[2], "stability_scores": "high"}),
             json.dumps({k: v for k, v in GOOD[2].items() if k != "stability_scores"})]
    path = tmp_path / "d.jsonl"
    path.write_text("\n".join(lines) + "\n")
    data = load_st2b(path)
    assert [r.structure_id for r in data.rows] == ["a", "b", "c"]
    assert data.rows[1].captions == ("A single caption.",)
    assert data.rows[2].scores is None and data.rows[2].stable is None
    assert [e.code for e in data.errors] == ["bad_json", "bad_json", "bad_captions", "bad_bricks", "bad_id",
                                            "bad_scores"]
    sniffed = tmp_path / "d.bin"
    sniffed.write_bytes(path.read_bytes())
    assert len(load_st2b(sniffed)) == 3


def test_file_level_problems_raise(tmp_path):
    with pytest.raises(ST2BError) as info:
        load_st2b(tmp_path / "nope.parquet")
    assert info.value.code == "bad_file"
    _write_parquet(tmp_path / "cols.parquet", [{"structure_id": "a", "bricks": TOWER}])
    with pytest.raises(ST2BError) as info:
        load_st2b(tmp_path / "cols.parquet")
    assert info.value.code == "missing_columns"
    (tmp_path / "x.parquet").write_bytes(b"PAR1 garbage")
    with pytest.raises(ST2BError) as info:
        load_st2b(tmp_path / "x.parquet")
    assert info.value.code == "bad_file"
    (tmp_path / "x.bin").write_bytes(b"\x00\x01garbage")
    with pytest.raises(ST2BError):
        split_files(tmp_path / "x.bin")
    with pytest.raises(ST2BError) as info:
        load_st2b(tmp_path / "empty_dir_does_not_exist")
    (tmp_path / "emptydir").mkdir()
    with pytest.raises(ST2BError) as info:
        load_st2b(tmp_path / "emptydir")
    assert info.value.code == "no_split"


# --- scores and rows -------------------------------------------------------------------------------

def test_voxel_grid_scores_become_per_brick(tmp_path):
    grid = np.zeros((20, 20, 20))
    grid[5:7, 5:7, 0] = 0.1
    grid[5:7, 6:8, 1] = 0.25
    row = validate_row(rec("g", STEP, scores=grid.tolist()))
    assert row.scores == (0.1, 0.25) and row.stable is True
    unstable = grid.copy()
    unstable[5:7, 6:8, 1] = 1.0
    assert validate_row(rec("u", STEP, scores=unstable.tolist())).stable is False
    with pytest.raises(ST2BError) as info:
        validate_row(rec("w", STEP, scores=np.zeros((10, 10, 10)).tolist()))
    assert info.value.code == "bad_scores"
    assert validate_row(rec("n", STEP, scores=[float("nan"), 0.0]), with_scores=False).scores is None


def test_limit_streaming_and_world_dim(tmp_path):
    path = tmp_path / "d.parquet"
    _write_parquet(path, [rec(str(i)) for i in range(50)])
    assert [r.structure_id for r in load_st2b(path, limit=3).rows] == ["0", "1", "2"]
    assert load_st2b(path, limit=0).rows == []
    items = list(iter_st2b(path, with_scores=False))
    assert len(items) == 50 and all(r.scores is None for r in items)
    big = validate_row(rec("big", "2x4 (30,30,0)\n", scores=[0.0]), world_dim=40)
    assert big.structure.world_dim == (40, 40, 40)


# --- suite -----------------------------------------------------------------------------------------

def test_st2b_suite(tmp_path):
    root = tmp_path / "st2b"
    _write_parquet(root / "data" / "test-00000-of-00001.parquet", [GOOD[2], BAD[2][0], GOOD[0]])
    _write_parquet(root / "data" / "train-00000-of-00001.parquet", [GOOD[1]])
    suite = st2b_suite(root)
    assert suite == [CaptionTarget("c", "One.", TOWER, "tower"),
                     CaptionTarget("a", "A short tower.", TOWER, "tower")]
    every = st2b_suite(root, all_captions=True)
    assert [t.id for t in every] == ["c#0", "c#1", "c#2", "a#0", "a#1"]
    assert [t.id for t in st2b_suite(root, limit=4, all_captions=True)] == ["c#0", "c#1", "c#2", "a#0"]
    assert st2b_suite(root, "train")[0].caption == "A tiny step."
    assert st2b_suite(root, limit=0) == []


# --- BrickGPT's own examples (skipped without ../shared) --------------------------------------------

FEW_SHOT = REFERENCE / "brickgpt" / "src" / "brickgpt" / "models" / "few_shot_examples.json"


@pytest.mark.skipif(not FEW_SHOT.is_file(), reason="shared reference data not present")
def test_reference_structures_validate_and_relegolise():
    examples = json.loads(FEW_SHOT.read_text())
    assert examples
    for ex in examples:
        row = validate_row({"structure_id": ex["structure_name"], "object_id": ex["object_id"],
                            "category_id": ex["category_id"], "captions": [ex["caption"]],
                            "bricks": ex["bricks"]})
        assert row.category_id == ex["category_id"] and len(row.structure) == ex["bricks"].count("\n")
        ours = legolize(voxelize(row.structure))
        assert ours.valid and ours.iou == 1.0
        if ex.get("is_stable"):
            assert ours.stable
