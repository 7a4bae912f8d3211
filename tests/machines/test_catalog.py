"""The block catalog: physical invariants always; exact agreement with the reference file when shared/
is present."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from brickfield.core.errors import ParseError
from brickfield.machines.design.catalog import (
    BLOCKS,
    LINEAR_TYPES,
    MACHINE_BLOCKS,
    PAPER_BLOCKS,
    UnknownBlockError,
    attach_box,
    bsg_id,
    get_block,
    is_known,
)
from brickfield.machines.design.types import BlockKind, Collider

SHARED = Path(os.environ.get("BRICKFIELD_SHARED", Path(__file__).resolve().parents[3] / "shared"))
REF_CATALOG = SHARED / "reference/besiegefield/AgenticCodes/properties/besiege_blocks.json"


def test_catalog_has_all_44_types_and_the_papers_27() -> None:
    assert len(BLOCKS) == 44
    assert "18_1" in BLOCKS
    assert len(PAPER_BLOCKS) == 27 == len(set(PAPER_BLOCKS))
    assert set(PAPER_BLOCKS) <= set(BLOCKS)
    assert set(MACHINE_BLOCKS) == set(PAPER_BLOCKS) | {"4", "45"}
    assert frozenset({"7", "9", "45"}) == LINEAR_TYPES


def test_get_block_accepts_int_and_str_and_rejects_unknown() -> None:
    assert get_block(63) is get_block("63") is BLOCKS["63"]
    assert get_block("18_1").size == (1.0, 1.0, 1.0)
    for bad in ("99", 85, "63a", True, 1.0, None):
        with pytest.raises(UnknownBlockError) as info:
            get_block(bad)  # type: ignore[arg-type]
        assert isinstance(info.value, ParseError) and isinstance(info.value, KeyError)
        assert info.value.code == "unknown_type"
    assert is_known("2") and is_known(2) and not is_known(True) and not is_known("x")


def test_documented_masses() -> None:
    expected = {"0": 0.25, "15": 0.3, "1": 0.5, "41": 0.5, "63": 1.0, "2": 1.0, "40": 1.0, "46": 1.0,
                "60": 1.0, "50": 0.5, "5": 0.5, "44": 0.5, "19": 0.5, "28": 1.0, "13": 1.0, "22": 1.0,
                "35": 3.0, "36": 5.0, "23": 0.5, "30": 0.5, "16": 0.5, "7": 0.5, "9": 0.4, "45": 0.4}
    for tid, mass in expected.items():
        assert get_block(tid).mass == mass, tid
    assert all(b.mass > 0 for b in BLOCKS.values())


@pytest.mark.parametrize("tid", sorted(BLOCKS))
def test_geometry_invariants(tid: str) -> None:
    b = BLOCKS[tid]
    if b.kind is BlockKind.LINEAR:
        assert b.size == (0, 0, 0) and b.attach_points == () and b.collider is Collider.NONE
        return
    size, center = np.array(b.size), np.array(b.center)
    lo = center - size / 2
    # Blocks extend forward from their connection point (root: centred on it); spike and blade start
    # a little in front of it.
    if tid == "0":
        assert np.allclose(center, 0)
    else:
        assert -1e-9 <= lo[2] <= 0.1 + 1e-9 and center[0] == 0.0
    # Every attach point lies on the surface of the box used for face detection, so placement can
    # always find an outward normal.
    fc, fs = (np.array(v) for v in attach_box(b))
    flo, fhi = fc - fs / 2, fc + fs / 2
    for p in np.array(b.attach_points, dtype=float).reshape(-1, 3):
        assert np.all(p >= flo - 1e-9) and np.all(p <= fhi + 1e-9)
        assert np.any(np.isclose(p, flo) | np.isclose(p, fhi))
    # Colliders fit inside the outline box.
    if b.collider is Collider.BOX:
        assert np.all(np.array(b.collider_size) <= size + 1e-9)
    elif b.collider is Collider.CYLINDER:
        r, length = b.collider_size
        assert 2 * r <= min(size[0], size[1]) + 1e-9 and length <= size[2] + 1e-9
    elif b.collider is Collider.SPHERE:
        assert 2 * b.collider_size[0] <= size.min() + 1e-9


def test_physical_kinds_and_colliders() -> None:
    assert get_block(0).kind is BlockKind.ROOT
    assert {t for t, b in BLOCKS.items() if b.kind is BlockKind.LOOSE} == {"23", "36"}
    assert get_block(2).kind is get_block(46).kind is BlockKind.POWERED
    assert get_block(2).collider_size == (1.0, 0.5)      # r = 1 wheel, 0.5 thick
    assert get_block(46).collider_size == (1.5, 1.0)     # large wheel r = 1.5, not 3
    assert get_block(36).collider is Collider.SPHERE and get_block(36).collider_size == (0.95,)
    assert get_block(15).collider_size == (0.8, 0.8, 1.0)
    assert bsg_id("18_1") == "18" and bsg_id("63") == "63"
    assert attach_box(get_block(30)) == ((0.0, 0.0, 0.5), (1.0, 1.0, 1.0))


@pytest.mark.skipif(not REF_CATALOG.exists(), reason="shared reference catalog not present")
def test_matches_reference_catalog() -> None:
    ref = json.loads(REF_CATALOG.read_text(encoding="utf-8"))
    assert set(ref) == set(BLOCKS)
    for tid, entry in ref.items():
        b = BLOCKS[tid]
        assert b.category == entry["block_type"], tid
        if not entry["bbox_size"]:
            assert b.kind is BlockKind.LINEAR, tid
            continue
        assert np.allclose(b.size, entry["bbox_size"]), tid
        assert np.allclose(b.center, entry["bc_gc"]), tid
        assert np.array(b.attach_points).reshape(-1, 3).tolist() == \
            np.array(entry["bc_bp"], dtype=float).reshape(-1, 3).tolist(), tid
