"""Sparse LP assembly for the brick force-balance model (BrickGPT / StableLego formulation).

The model is a linear programme over contact forces. Every brick must balance five quantities
(Fx, Fy, Fz and the torques about the two horizontal axes through its centre); any imbalance is a
penalised residual. Brick pairs interact through

* **stud connections**: every cell whose stud is plugged into the brick above carries 3 vertical
  contact points (upper brick 2 wide) or 4 (upper brick 1 wide), each with a pull ``f >= 0`` (the
  clutch friction holding the upper brick down) and a press ``n >= 0``, plus a free horizontal
  knob force in x and y acting at the interface height;
* **side contacts**: two cells of different bricks touching side by side in one layer push on
  each other (compression only), acting at the bottom of the layer as in the reference;
* **the ground**: layer-0 cells connect to a baseplate that can pull, press and push sideways.

Objective (true units, N and N*m): ``sum |residual| + alpha * sum_b max_k pull_bk + beta * sum pull``.
Torques: ``tau1`` is about the x axis (``y*Fz - z*Fy``), ``tau2`` about the y axis (``z*Fx - x*Fz``),
both through the brick centre; torsion about z is not modelled (as in the reference).

Horizontal forces between the same two bricks all act at the same height, so they are equivalent
whatever stud or face carries them: one knob force pair per connected brick pair and one push per
touching brick pair replace the reference's per-stud / per-face variables. The optimum is unchanged
and the LP loses a large degenerate subspace.

The reference writes the bilinear complementarity ``n * f = 0`` per point; it is dropped here
because subtracting ``min(n, f)`` from both changes no force or torque and strictly lowers the
``beta`` term, so every optimum of the LP already satisfies it.

**Units.** The matrices are built in scaled units so that coefficients are O(1): forces in
gram-force (``g / 1000`` N, the capacity is 100 of them), lengths in stud pitches, torques in
gram-force * stud. The objective is divided by the force unit; the torque residual cost becomes the
stud pitch ``L`` so that the optimum is exactly the reference's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from brickfield.lego.grid import Occupancy

# Row layout of each brick's five balance equations.
FX, FY, FZ, TAU1, TAU2 = range(5)
N_EQ = 5

# Sub-stud offsets (in studs, relative to the cell centre) of the vertical contact points.
# A 1-wide upper brick grips the stud at four points around it, a 2-wide one at three.
_OFFSETS_4 = np.array([[0.0, -0.25], [-0.25, 0.0], [0.0, 0.25], [0.25, 0.0]])
_OFFSETS_3 = np.array([[0.125, -0.125], [-0.25, 0.0], [0.125, 0.125]])


@dataclass(frozen=True)
class ModelConstants:
    """Physical constants the assembly needs (SI units)."""

    g: float
    stud_pitch: float
    brick_height: float
    alpha: float
    beta: float

    @property
    def force_unit(self) -> float:
        """Newtons per scaled force unit (one gram-force)."""
        return self.g / 1000.0


@dataclass
class StabilityModel:
    """The assembled LP plus the bookkeeping needed to read a solution back.

    Variable vector ``x`` (scaled units) is laid out in contiguous blocks, see ``blocks``:
    ``pull`` and ``press`` (one per contact point), ``knob_x`` and ``knob_y`` (free, one per
    connected brick pair incl. brick-ground), ``side`` (one per touching brick pair and axis),
    ``max_pull`` (one per brick with contact points below it), ``res_pos`` and ``res_neg`` (5 per
    brick). Every block except the knob forces is non-negative (``lower_bounds``).

    Constraints, stored as COO triplets so that each solver builds its own matrix in one pass:
    rows ``0 .. n_eq-1`` are the balance equations ``A x == eq_rhs`` (5 per brick: Fx, Fy, Fz,
    tau1, tau2), rows ``n_eq ..`` are ``pull_k - max_pull_b <= 0`` (one per contact point).
    """

    n_bricks: int
    blocks: dict[str, slice]
    cost: np.ndarray
    rows: np.ndarray
    cols: np.ndarray
    vals: np.ndarray
    n_eq: int
    n_ub: int
    eq_rhs: np.ndarray
    lower_bounds: np.ndarray
    force_unit: float
    stud_pitch: float
    alpha: float
    beta: float
    # Contact points (length P): brick above / below (-1 = ground) and position in stud units.
    point_upper: np.ndarray
    point_lower: np.ndarray
    point_xy: np.ndarray
    # Stud connections (length C): brick above / below (-1 = ground) and the cell (x, y, z) of the
    # upper brick's stud cavity.
    conn_upper: np.ndarray
    conn_lower: np.ndarray
    conn_cell: np.ndarray
    # Knob forces, one (x, y) pair per connected brick pair (length K): force on the lower brick.
    knob_upper: np.ndarray
    knob_lower: np.ndarray
    # Side contacts, one per touching brick pair and axis (length S): `side_minus` pushes
    # `side_plus` towards +axis.
    side_plus: np.ndarray
    side_minus: np.ndarray
    side_axis: np.ndarray  # 0 = x, 1 = y
    max_pull_brick: np.ndarray  # brick of each max_pull variable

    @property
    def n_vars(self) -> int:
        return int(self.cost.size)

    @property
    def n_points(self) -> int:
        return int(self.point_upper.size)

    def matrix(self, bound_rows: bool = False) -> sp.csc_matrix:
        """Constraint matrix ``[A_eq; A_ub]``; with ``bound_rows`` also ``-x_j <= 0`` for every
        non-negative variable (for conic solvers that have no variable bounds)."""
        rows, cols, vals = self.rows, self.cols, self.vals
        n_rows = self.n_eq + self.n_ub
        if bound_rows:
            nonneg = np.flatnonzero(self.lower_bounds == 0.0)
            rows = np.concatenate([rows, n_rows + np.arange(nonneg.size)])
            cols = np.concatenate([cols, nonneg])
            vals = np.concatenate([vals, -np.ones(nonneg.size)])
            n_rows += nonneg.size
        return sp.coo_matrix((vals, (rows, cols)), shape=(n_rows, self.n_vars)).tocsc()

    def imbalance(self, x: np.ndarray) -> np.ndarray:
        """(N, 5) signed residual of each balance equation in SI units (N, N*m), computed from the
        force variables alone so solver slack in the residual variables cannot leak in."""
        eq = self.rows < self.n_eq
        res_start = self.blocks["res_pos"].start  # residual blocks are last
        eq &= self.cols < res_start
        lhs = np.bincount(self.rows[eq], weights=self.vals[eq] * x[self.cols[eq]], minlength=self.n_eq)
        r = (lhs - self.eq_rhs).reshape(self.n_bricks, N_EQ)
        r *= self.force_unit
        r[:, TAU1:] *= self.stud_pitch
        return r

    def max_pull(self, x: np.ndarray) -> np.ndarray:
        """Largest pull (N) on the contact points under each brick; 0 where there are none."""
        out = np.zeros(self.n_bricks)
        pulls = np.maximum(x[self.blocks["pull"]], 0.0) * self.force_unit
        if pulls.size:
            np.maximum.at(out, self.point_upper, pulls)
        return out

    def objective(self, x: np.ndarray) -> float:
        """Reference objective in SI units, evaluated with exact residuals."""
        res = np.abs(self.imbalance(x)).sum()
        mp = self.max_pull(x)
        pulls = np.maximum(x[self.blocks["pull"]], 0.0).sum() * self.force_unit
        return float(res + self.alpha * mp.sum() + self.beta * pulls)

    def named_forces(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """The solution as named arrays in SI units (see the class docstring for meanings)."""
        u = self.force_unit
        b = self.blocks
        return {
            "pull": x[b["pull"]] * u,
            "press": x[b["press"]] * u,
            "point_upper": self.point_upper,
            "point_lower": self.point_lower,
            "point_xy": self.point_xy,
            "knob": np.stack([x[b["knob_x"]], x[b["knob_y"]]], axis=1) * u,
            "knob_upper": self.knob_upper,
            "knob_lower": self.knob_lower,
            "conn_upper": self.conn_upper,
            "conn_lower": self.conn_lower,
            "conn_cell": self.conn_cell,
            "side": x[b["side"]] * u,
            "side_plus": self.side_plus,
            "side_minus": self.side_minus,
            "side_axis": self.side_axis,
            "residual": self.imbalance(x),
        }


def _cells(arr: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Expand bricks into their cells: (brick index, x, y, z) per cell, brick-major, x-major."""
    h, w = arr[:, 0], arr[:, 1]
    area = h * w
    bid = np.repeat(np.arange(arr.shape[0]), area)
    start = np.cumsum(area) - area
    local = np.arange(bid.size) - start[bid]
    cx = arr[bid, 2] + local // w[bid]
    cy = arr[bid, 3] + local % w[bid]
    return bid, cx, cy, arr[bid, 4]


def _side_pairs(owner: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unique (axis, minus brick, plus brick) for cells of different bricks touching in one layer.

    All faces between the same two bricks along one axis act identically (same direction and
    height; torsion about z is not modelled), so one push variable per brick pair is exact and
    removes a large degenerate direction from the LP.
    """
    keys = []
    for axis in (0, 1):
        a = owner[:-1] if axis == 0 else owner[:, :-1]
        b = owner[1:] if axis == 0 else owner[:, 1:]
        m = (a >= 0) & (b >= 0) & (a != b)
        keys.append(np.stack([np.full(int(m.sum()), axis), a[m], b[m]], axis=1))
    key = np.unique(np.concatenate(keys).astype(np.int64).reshape(-1, 3), axis=0)
    return key[:, 0], key[:, 1], key[:, 2]


def build_model(arr: np.ndarray, masses: np.ndarray, occ: Occupancy, c: ModelConstants) -> StabilityModel:
    """Assemble the LP for bricks ``arr`` ((N, 5) h, w, x, y, z) without collisions.

    ``occ`` must be the occupancy of the same bricks (it provides the neighbour lookups) and every
    brick must lie inside its grid. Cost is O(total stud cells) numpy work, no per-variable loops.
    """
    n = arr.shape[0]
    owner = occ.owner
    h, w = arr[:, 0], arr[:, 1]
    ctr_x = arr[:, 2] + (h - 1) / 2.0
    ctr_y = arr[:, 3] + (w - 1) / 2.0
    one_wide = np.minimum(h, w) < 2
    arm = c.brick_height / (2.0 * c.stud_pitch)  # horizontal forces act at +-H/2, in studs

    # --- stud connections: cells with an occupied cell above, plus every layer-0 cell -------------
    bid, cx, cy, cz = _cells(arr)
    above = np.full(bid.size, -1, dtype=np.int64)
    inside = cz + 1 < owner.shape[2]
    above[inside] = owner[cx[inside], cy[inside], cz[inside] + 1]
    up = above >= 0
    ground = cz == 0
    conn_upper = np.concatenate([above[up], bid[ground]])
    conn_lower = np.concatenate([bid[up], np.full(int(ground.sum()), -1, dtype=np.int64)])
    conn_cell = np.stack([np.concatenate([cx[up], cx[ground]]), np.concatenate([cy[up], cy[ground]]),
                          np.concatenate([cz[up] + 1, cz[ground]])], axis=1)

    # --- contact points: 4 per connection under a 1-wide brick, else 3 ---------------------------
    n_pts = np.where(one_wide[conn_upper], 4, 3)
    p_conn = np.repeat(np.arange(conn_upper.size), n_pts)
    p_local = np.arange(p_conn.size) - (np.cumsum(n_pts) - n_pts)[p_conn]
    offs = np.where((n_pts[p_conn] == 4)[:, None], _OFFSETS_4[np.minimum(p_local, 3)],
                    _OFFSETS_3[np.minimum(p_local, 2)])
    point_xy = conn_cell[p_conn, :2] + offs
    p_up = conn_upper[p_conn]
    p_lo = conn_lower[p_conn]
    n_p = p_conn.size

    side_axis, side_minus, side_plus = _side_pairs(owner)
    kkey = np.unique(np.stack([conn_lower, conn_upper], axis=1).reshape(-1, 2), axis=0)
    knob_lower, knob_upper = kkey[:, 0], kkey[:, 1]
    mp_brick = np.unique(p_up)

    sizes = {"pull": n_p, "press": n_p, "knob_x": knob_lower.size, "knob_y": knob_lower.size,
             "side": side_plus.size, "max_pull": mp_brick.size, "res_pos": N_EQ * n, "res_neg": N_EQ * n}
    blocks: dict[str, slice] = {}
    off = 0
    for name, size in sizes.items():
        blocks[name] = slice(off, off + size)
        off += size
    n_vars = off

    def col(name: str) -> np.ndarray:
        return np.arange(blocks[name].start, blocks[name].stop)

    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    vals: list[np.ndarray] = []

    def add(brick: np.ndarray, eq: int, colidx: np.ndarray, val: np.ndarray) -> None:
        keep = brick >= 0  # -1 = the ground, which has no balance equations
        rows.append(N_EQ * brick[keep] + eq)
        cols.append(colidx[keep])
        vals.append(val[keep])

    # Vertical points. Fz at lever (dx, dy) from the centre gives tau1 = dy*Fz, tau2 = -dx*Fz.
    # The upper brick receives (press - pull), the lower one (pull - press).
    col_f, col_n = col("pull"), col("press")
    ones = np.ones(n_p)
    for brick, sign in ((p_up, 1.0), (p_lo, -1.0)):
        safe = np.maximum(brick, 0)
        dx = point_xy[:, 0] - ctr_x[safe]
        dy = point_xy[:, 1] - ctr_y[safe]
        for cidx, s in ((col_n, sign), (col_f, -sign)):
            add(brick, FZ, cidx, s * ones)
            add(brick, TAU1, cidx, s * dy)
            add(brick, TAU2, cidx, -s * dx)

    # Knob force (kx, ky) acts on the lower brick at its top face (+arm) and, reversed, on the
    # upper brick at its bottom face (-arm); both therefore get the same torque.
    col_kx, col_ky = col("knob_x"), col("knob_y")
    k_ones = np.ones(col_kx.size)
    for brick, sign in ((knob_lower, 1.0), (knob_upper, -1.0)):
        add(brick, FX, col_kx, sign * k_ones)
        add(brick, FY, col_ky, sign * k_ones)
        add(brick, TAU2, col_kx, arm * k_ones)
        add(brick, TAU1, col_ky, -arm * k_ones)

    # Side pushes act at the bottom of the layer (-arm): +s on side_plus, -s on side_minus.
    col_s = col("side")
    is_x = side_axis == 0
    s_ones = np.ones(col_s.size)
    for brick, sign in ((side_plus, 1.0), (side_minus, -1.0)):
        bx = np.where(is_x, brick, -1)
        by = np.where(is_x, -1, brick)
        add(bx, FX, col_s, sign * s_ones)
        add(bx, TAU2, col_s, -sign * arm * s_ones)
        add(by, FY, col_s, sign * s_ones)
        add(by, TAU1, col_s, sign * arm * s_ones)

    # Residuals: A x - r_pos + r_neg = rhs, so r_pos - r_neg is the imbalance.
    n_eq = N_EQ * n
    eq_rows = np.arange(n_eq)
    rows += [eq_rows, eq_rows]
    cols += [col("res_pos"), col("res_neg")]
    vals += [-np.ones(n_eq), np.ones(n_eq)]

    # pull_k - max_pull_b <= 0
    mp_index = np.full(n, -1, dtype=np.int64)
    mp_index[mp_brick] = np.arange(mp_brick.size)
    rows += [n_eq + np.arange(n_p), n_eq + np.arange(n_p)]
    cols += [col_f, blocks["max_pull"].start + mp_index[p_up]]
    vals += [ones, -ones]

    eq_rhs = np.zeros(n_eq)
    # Weight is uniform over the footprint, so its torque about the centre is zero: only Fz sees it.
    eq_rhs[FZ::N_EQ] = masses * 1000.0  # kg -> gram-force

    cost = np.zeros(n_vars)
    cost[blocks["pull"]] = c.beta
    cost[blocks["max_pull"]] = c.alpha
    res_cost = np.tile(np.array([1.0, 1.0, 1.0, c.stud_pitch, c.stud_pitch]), n)
    cost[blocks["res_pos"]] = res_cost
    cost[blocks["res_neg"]] = res_cost

    lower = np.zeros(n_vars)
    lower[blocks["knob_x"]] = -np.inf
    lower[blocks["knob_y"]] = -np.inf

    return StabilityModel(
        n_bricks=n, blocks=blocks, cost=cost, rows=np.concatenate(rows), cols=np.concatenate(cols),
        vals=np.concatenate(vals), n_eq=n_eq, n_ub=n_p, eq_rhs=eq_rhs, lower_bounds=lower,
        force_unit=c.force_unit, stud_pitch=c.stud_pitch, alpha=c.alpha, beta=c.beta,
        point_upper=p_up, point_lower=p_lo, point_xy=point_xy,
        conn_upper=conn_upper, conn_lower=conn_lower, conn_cell=conn_cell,
        knob_upper=knob_upper, knob_lower=knob_lower,
        side_plus=side_plus, side_minus=side_minus, side_axis=side_axis, max_pull_brick=mp_brick,
    )
