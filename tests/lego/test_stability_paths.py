"""The fast paths of the stability analysis agree with their reference formulations.

Small structures (fewer than ``grid.SMALL_STRUCTURE`` bricks) take rectangle tests and cached
per-block templates instead of the dense grid, the LP rows are built directly instead of by
projecting the balance triplets, graph facts come from plain Python below a size, the press-only
pass rejects a resultant outside a bounding box without a least-squares split, and the analysis
reads residuals from the LP's residual variables. Each is checked against the slower definition.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from brickfield.lego import grid
from brickfield.lego.stability import model as sm
from brickfield.lego.stability import solve as st
from brickfield.lego.stability.solve import StabilityConfig, analyze_stability
from brickfield.lego.structure import Brick, Structure

SHAPES = ((1, 1), (1, 2), (1, 4), (1, 6), (1, 8), (2, 2), (2, 4), (2, 6))
CONSTANTS = StabilityConfig().constants()


def random_structure(rng: np.random.Generator, n: int, side: int, layers: int,
                     dims: tuple[int, int, int] = (20, 20, 20), collide: bool = False) -> Structure:
    """Up to n library bricks at random in a side x side x layers box (colliding only if asked)."""
    occ = np.zeros(dims, dtype=bool)
    bricks: list[Brick] = []
    for _ in range(4 * n):
        if len(bricks) == n:
            break
        a, b = SHAPES[rng.integers(len(SHAPES))]
        h, w = (a, b) if rng.random() < 0.5 else (b, a)
        x, y, z = (int(rng.integers(0, max(1, side - h + 1))), int(rng.integers(0, max(1, side - w + 1))),
                   int(rng.integers(0, layers)))
        if x + h > dims[0] or y + w > dims[1] or z >= dims[2]:
            continue
        if occ[x:x + h, y:y + w, z].any() and not collide:
            continue
        occ[x:x + h, y:y + w, z] = True
        bricks.append(Brick(h, w, x, y, z))
    return Structure(bricks, world_dim=dims)


def tuples(s: Structure) -> list[tuple[int, ...]]:
    return [(b.h, b.w, b.x, b.y, b.z) for b in s.bricks]


def structures(seed: int, count: int, max_bricks: int = 47, collide: bool = False):
    rng = np.random.default_rng(seed)
    for _ in range(count):
        dims = (20, 20, 20) if rng.random() < 0.7 else tuple(int(v) for v in rng.integers(8, 21, 3))
        s = random_structure(rng, int(rng.integers(1, max_bricks + 1)), int(rng.integers(2, 12)),
                             int(rng.integers(1, 9)), dims, collide)
        if len(s):
            yield s


def test_layer_contacts_match_the_grid():
    for s in structures(1, 300, collide=True):
        lc, occ = grid.layer_contacts(tuples(s)), grid.occupancy(s)
        assert np.array_equal(lc.floating, grid.floating_mask(s, occ))
        hit = occ.colliding.copy()
        for a, b in occ.collision_pairs:
            hit[a] = hit[b] = True
        assert np.array_equal(lc.overlapping, hit)
        if not hit.any():
            for mine, theirs in zip(lc.touching, grid.side_contacts(occ), strict=True):
                assert np.array_equal(mine, theirs)


def test_small_and_dense_paths_build_the_same_model():
    for s in structures(2, 300):
        arr, masses = s.arrays(), s.masses()
        small = sm.build_model(arr, masses, grid.layer_contacts(tuples(s)), CONSTANTS)
        dense = sm.build_model(arr, masses, grid.occupancy(s), CONSTANTS)
        for name in [*small.__dataclass_fields__, "rows", "cols", "vals", "var_brick", "lower_bounds"]:
            if name.startswith("_"):
                continue
            a, b = getattr(small, name), getattr(dense, name)
            assert np.array_equal(a, b) if isinstance(a, np.ndarray) else a == b, name


def _projected_from_balance(m: sm.StabilityModel) -> sp.csc_matrix:
    """The LP matrix as the face-weighted projection of the full balance triplets (LP columns)."""
    n, t, w = m.n_bricks, m.n_trees, m._face_weights()
    rows, cols, vals = m.triplets
    eq = (rows < m.n_eq) & m.lp_columns[cols]
    brick, kind = np.divmod(rows[eq], sm.N_EQ)
    c, v = cols[eq], vals[eq]
    out = [(brick[kind == sm.FZ], c[kind == sm.FZ], v[kind == sm.FZ])]
    for axis in (0, 1):
        for face in (0, 1):
            tree = m.face_tree[face * n + brick]
            keep = (w[kind, axis, face] != 0.0) & (tree >= 0)
            out.append((n + axis * t + tree[keep], c[keep], v[keep] * w[kind[keep], axis, face]))
    ub = (rows >= m.n_eq) & m.lp_columns[cols]
    out.append((n + 2 * t + rows[ub] - m.n_eq, cols[ub], vals[ub]))
    r, cc, vv = (np.concatenate([o[i] for o in out]) for i in range(3))
    shape = (n + 2 * t + m.n_ub, int(m.lp_columns.sum()))
    a = sp.csc_matrix((vv, (r, (np.cumsum(m.lp_columns) - 1)[cc])), shape=shape)
    a.data[np.abs(a.data) < 1e-12] = 0.0
    a.eliminate_zeros()
    a.sort_indices()
    return a


@pytest.mark.parametrize("seed, max_bricks", [(3, 47), (4, 120)])
def test_direct_lp_rows_equal_the_projected_balance(seed, max_bricks):
    for s in structures(seed, 120, max_bricks):
        occ = grid.layer_contacts(tuples(s)) if len(s) < grid.SMALL_STRUCTURE else grid.occupancy(s)
        m = sm.build_model(s.arrays(), s.masses(), occ, CONSTANTS)
        mine, ref = m.linear_program().matrix(), _projected_from_balance(m)
        assert mine.shape == ref.shape
        assert np.array_equal(mine.indptr, ref.indptr) and np.array_equal(mine.indices, ref.indices)
        np.testing.assert_allclose(mine.data, ref.data, rtol=1e-15, atol=0.0)


def test_contact_graphs_python_and_scipy_agree():
    for s in structures(5, 300):
        m = sm.build_model(s.arrays(), s.masses(), grid.layer_contacts(tuples(s)), CONSTANTS)
        args = (m.n_bricks, m.knob_lower, m.knob_upper, m.side_minus, m.side_plus)
        for a, b in zip(grid.contact_graphs(*args), grid.contact_graphs(*args, small=0), strict=True):
            assert a.dtype.kind == b.dtype.kind and np.array_equal(a, b)


def test_bounding_box_rejection_agrees_with_least_squares(monkeypatch):
    models = [sm.build_model(s.arrays(), s.masses(), grid.layer_contacts(tuples(s)), CONSTANTS)
              for s in structures(6, 600)]
    fast = [st.press_only_solution(m)[1] for m in models]
    monkeypatch.setattr(st, "_OUTSIDE", 1e9)  # every box holds everything: least squares decides
    slow = [st.press_only_solution(m)[1] for m in models]
    assert all(np.array_equal(a, b) for a, b in zip(fast, slow, strict=True))
    assert 50 < sum(h.sum() for h in fast) < sum(h.size for h in fast)  # both outcomes occur


def test_residuals_read_from_the_lp_equal_the_force_imbalance():
    for s in structures(7, 60, 30):
        r = analyze_stability(s)
        if r.model is None or r.solver == st.PRESS_ONLY:
            continue
        force_imbalance = r.model.imbalance(r.x)  # needs the knob forces, recovered on first access
        np.testing.assert_allclose(r.model.residual_imbalance(r.x), force_imbalance, atol=1e-9, rtol=0)
        assert np.abs(r.forces()["residual"] - force_imbalance).max() == 0.0


def test_same_input_same_output():
    for s in structures(8, 20, 30):
        a, b = analyze_stability(s), analyze_stability(Structure(list(s.bricks), s.world_dim))
        assert np.array_equal(a.scores, b.scores) and a.fail_kind == b.fail_kind
        assert np.array_equal(a.residuals, b.residuals) and a.objective == b.objective
        assert (a.x is None and b.x is None) or np.array_equal(a.x, b.x)
