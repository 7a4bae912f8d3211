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

**What the solver sees.** The model keeps one variable per contact point, knob pair and side pair
(that is what :meth:`StabilityModel.named_forces` reports), but the LP handed to a solver
(:meth:`StabilityModel.linear_program`) is smaller. Every reduction keeps the set of feasible
pulls, presses at hull vertices, side pushes and residuals, and the cost, so the optimal value and
the set of optimal pulls and residuals (all the scores read) are exactly those of the full model:

* *press at non-vertex points is left out*: press costs nothing and only enters the balance rows
  as ``n * (1, dy, -dx)`` on the two bricks, so a press at a point inside the convex hull of the
  pair's contact points equals non-negative presses at the hull vertices (its convex weights);
* *knob forces closing a cycle are left out*: the x (y) knob columns form the incidence matrix of
  a graph whose nodes are brick top faces, brick bottom faces and the ground (see
  ``StabilityModel._face_rows``; the ground has no equations). Knob forces are free and cost
  nothing, so a spanning forest spans the same forces; a cycle only adds a zero-cost self-stress
  direction;
* *side pushes between two bricks whose bottom faces lie in one tree are left out* (the two bricks
  sit on a common brick, or both on the ground ...): such a column equals a signed sum of forest
  knob columns, which are free;
* *horizontal force residuals that torque residuals undercut are left out*: in the LP (face rows,
  see below) a brick's Fx residual puts 1/2 on the x row of its bottom-face tree and 1/2 on that of
  its top-face tree at cost 1, while its tau2 residual moves ``lever = 1/(2 arm)`` from one of the
  two trees to the other at cost ``L`` (per unit: ``L/lever = H`` in m, 0.0096). Chaining tau2
  residuals over the bricks on a path of trees down to the ground's tree (which has no row)
  delivers one unit to a tree ``h`` bricks away at cost ``h * L/lever``. So when
  ``h(bottom) + h(top) < 2 lever/L`` (~208 bricks) the Fx column costs strictly more than an
  equivalent combination and is 0 at every optimum; likewise Fy with tau1;
* *the remaining knob forces are eliminated*: on a forest they are determined by everything else,
  and the horizontal balance rows collapse to one sum per tree and axis (see
  :meth:`StabilityModel.linear_program`); :meth:`StabilityModel.with_knob_forces` recovers them.
  Each brick keeps only its Fz row: on dense 3-D stacks the KKT factorisation needs 10-30x
  fewer flops (five coupled rows per brick made its fill grow like that of a 3-D mesh).

The free columns dropped or eliminated carry no barrier term, so the interior point solver's
central path, and with it the optimal solution it converges to, is unchanged by them; the left-out
presses, side pushes and residuals are non-negative columns, so on a degenerate optimum the
returned point can move within the optimal set (80 reference cases: scores within 5e-6 of before,
except 1.4e-4 and 4.4e-4 on the one case whose optimal range is 0.35 wide).

**Components and the press-only certificate.** Bricks that touch neither through studs nor sides
(the ground is fixed, not a node) form independent LPs (:attr:`StabilityModel.component`), solved
one by one. Every term of the objective is non-negative, so a solution that holds a component with
press forces alone (no pull, no horizontal force, no residual) has objective 0 and is optimal, and
every optimal solution then has zero pulls and residuals: all scores are exactly 0.
:func:`press_only_solution` looks for such a solution top-down in one vectorised pass per layer;
only the components where it fails need an LP.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache, partial

import numpy as np
import scipy.sparse as sp
from scipy.optimize import nnls
from scipy.sparse.csgraph import connected_components, minimum_spanning_tree, shortest_path
from scipy.sparse.linalg import splu

from brickfield.lego.grid import CellMap, Occupancy, side_contacts, stud_connections

# Row layout of each brick's five balance equations.
FX, FY, FZ, TAU1, TAU2 = range(5)
N_EQ = 5

# Sub-stud offsets (in studs, relative to the cell centre) of the vertical contact points.
# A 1-wide upper brick grips the stud at four points around it, a 2-wide one at three.
# In eighths of a stud (exact integers for the convex-hull table), and in studs.
_EIGHTHS_4 = ((0, -2), (-2, 0), (0, 2), (2, 0))
_EIGHTHS_3 = ((1, -1), (-2, 0), (1, 1))
_OFFSETS_4 = np.array(_EIGHTHS_4) / 8.0
_OFFSETS_3 = np.array(_EIGHTHS_3) / 8.0
_OFFSETS_34 = np.concatenate([_OFFSETS_3, _OFFSETS_4])  # row p (3 points) or 3 + p (4 points)


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
class LinearProgram:
    """One LP handed to a solver (scaled units)::

        min cost . x   s.t.   A[:n_eq] x == b_eq,   A[n_eq:] x <= 0,   x >= lower   (0 or -inf)

    ``A`` is given as COO triplets (``rows``, ``cols``, ``vals``; duplicates are summed).
    ``columns`` are the model columns of its variables (see :meth:`StabilityModel.linear_program`).
    """

    cost: np.ndarray
    b_eq: np.ndarray
    lower: np.ndarray
    n_ub: int
    rows: np.ndarray
    cols: np.ndarray
    vals: np.ndarray
    columns: np.ndarray

    @property
    def n_vars(self) -> int:
        return int(self.cost.size)

    @property
    def n_eq(self) -> int:
        return int(self.b_eq.size)

    def csc(self, bound_rows: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[int, int]]:
        """``A`` in compressed sparse column form ``(data, indices, indptr, shape)``, duplicates
        summed (in input order) and rows sorted; with ``bound_rows`` also ``-x_j <= 0`` for every
        non-negative variable (for conic solvers that have no variable bounds)."""
        rows, cols, vals = self.rows, self.cols, self.vals
        n_rows = self.n_eq + self.n_ub
        if bound_rows:
            nonneg = np.flatnonzero(self.lower == 0.0)
            rows = np.concatenate([rows, n_rows + np.arange(nonneg.size)])
            cols = np.concatenate([cols, nonneg])
            vals = np.concatenate([vals, np.full(nonneg.size, -1.0)])
            n_rows += nonneg.size
        key = cols * n_rows + rows
        order = np.argsort(key, kind="stable")
        key = key[order]
        start = np.flatnonzero(np.concatenate([[True], key[1:] != key[:-1]])) if key.size else order
        data = np.add.reduceat(vals[order], start) if key.size else vals
        # A side push enters its bricks' top-face rows as 0.5 - arm/(2 arm): drop such round-off
        # (every true coefficient is >= 1e-3).
        keep = np.abs(data) >= 1e-12
        key = key[start[keep]]
        col, row = np.divmod(key, n_rows)
        indptr = np.zeros(self.n_vars + 1, dtype=np.int64)
        np.cumsum(np.bincount(col, minlength=self.n_vars), out=indptr[1:])
        return data[keep], row, indptr, (n_rows, self.n_vars)

    def matrix(self, bound_rows: bool = False) -> sp.csc_matrix:
        """``A`` as a scipy matrix (see :meth:`csc`)."""
        data, indices, indptr, shape = self.csc(bound_rows)
        return sp.csc_matrix((data, indices, indptr), shape=shape)


@dataclass
class StabilityModel:
    """The assembled LP plus the bookkeeping needed to read a solution back.

    Variable vector ``x`` (scaled units) is laid out in contiguous blocks, see ``blocks``:
    ``pull`` and ``press`` (one per contact point), ``knob_x`` and ``knob_y`` (free, one per
    connected brick pair incl. brick-ground), ``side`` (one per touching brick pair and axis),
    ``max_pull`` (one per brick with contact points below it), ``res_pos`` and ``res_neg`` (5 per
    brick). Every block except the knob forces is non-negative (``lower_bounds``).

    Constraints, stored as COO triplets: rows ``0 .. n_eq-1`` are the balance equations
    ``A x == eq_rhs`` (5 per brick: Fx, Fy, Fz, tau1, tau2), rows ``n_eq ..`` are
    ``pull_k - max_pull_b <= 0`` (one per contact point).

    ``lp_columns`` marks the columns a solver needs; the others are redundant (see the module
    docstring) and stay 0 in every solution this package produces.
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
    # Bricks: centre (x, y) in studs, layer, and connected component (independent LPs).
    brick_center: np.ndarray
    brick_z: np.ndarray
    component: np.ndarray
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
    var_brick: np.ndarray  # the brick each variable belongs to (its component owns it)
    lp_columns: np.ndarray  # bool per variable: an LP column (else redundant, or a knob force)
    knob_basis: np.ndarray  # bool per knob pair: in the spanning forest (the others stay 0)
    face_tree: np.ndarray  # (2N,) tree of each bottom face (0..N-1) and top face; -1 = grounded
    arm: float  # half the brick height in studs (lever of the horizontal forces)
    _lp_rows: tuple | None = field(default=None, init=False, repr=False)
    _knob_solve: object = field(default=None, init=False, repr=False)

    @property
    def n_vars(self) -> int:
        return int(self.cost.size)

    @property
    def n_points(self) -> int:
        return int(self.point_upper.size)

    @property
    def n_components(self) -> int:
        return int(self.component.max()) + 1 if self.component.size else 0

    @property
    def n_trees(self) -> int:
        """Ungrounded trees of the knob forest (each gives one x and one y row in the LP)."""
        return int(self.face_tree.max()) + 1 if self.face_tree.size else 0

    def _face_weights(self) -> np.ndarray:
        """(5, 2, 2) weights: balance row (Fx, Fy, Fz, tau1, tau2) -> (axis x/y, bottom/top face).

        In a brick's (Fx, tau2) plane a knob or side force at the bottom face acts along
        ``e_bot = (1, -arm)`` and one at the top face along ``e_top = (1, arm)`` (for y, in
        (Fy, tau1), with arm negated). The face rows are the dual basis,
        ``phi_bot = (1/2, -1/(2 arm))`` and ``phi_top = (1/2, 1/(2 arm))``, so a knob pair is +1 on
        the lower brick's top face and -1 on the upper brick's bottom face: an incidence matrix.
        """
        w = np.zeros((N_EQ, 2, 2))
        lever = 1.0 / (2.0 * self.arm)
        w[FX, 0] = w[FY, 1] = (0.5, 0.5)
        w[TAU2, 0] = (-lever, lever)
        w[TAU1, 1] = (lever, -lever)
        return w

    def _projected_rows(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Triplets (rows, cols, vals; duplicates to be summed) of the LP's constraint rows over all
        model columns except the knob forces, the right-hand side and the brick of every row
        (cached).

        Rows: the Fz balance of every brick, then one row per ungrounded tree for x and one for y
        (the sum of its face rows), then the max-pull rows ``pull - max_pull <= 0`` unchanged.
        """
        if self._lp_rows is None:
            n, t = self.n_bricks, self.n_trees
            rows, cols, vals = self.rows, self.cols, self.vals
            kx = self.blocks["knob_x"].start
            eq = (rows < self.n_eq) & ((cols < kx) | (cols >= self.blocks["knob_y"].stop))
            brick, kind = np.divmod(rows[eq], N_EQ)
            c, v = cols[eq], vals[eq]
            fz = kind == FZ
            hz = np.flatnonzero(~fz)  # Fx, Fy, tau1, tau2: each goes to its bottom and top face row
            hb, hk = brick[hz], kind[hz]
            w = self._face_weights()[hk, _AXIS[hk]]  # (H, 2): bottom, top
            tree = np.stack([self.face_tree[hb], self.face_tree[n + hb]], axis=1)
            keep = tree >= 0
            proj_r = (n + _AXIS[hk] * t)[:, None] + tree
            n_proj = n + 2 * t
            ub = rows >= self.n_eq
            faces = np.flatnonzero(self.face_tree >= 0)
            tree_brick = np.zeros(t, dtype=np.int64)
            tree_brick[self.face_tree[faces]] = faces % n
            rhs = np.zeros(n_proj)
            rhs[:n] = self.eq_rhs[FZ::N_EQ]  # only Fz has a right-hand side (the weight)
            self._lp_rows = (
                np.concatenate([brick[fz], proj_r[keep], n_proj + rows[ub] - self.n_eq]),
                np.concatenate([c[fz], np.broadcast_to(c[hz, None], keep.shape)[keep], cols[ub]]),
                np.concatenate([v[fz], (v[hz, None] * w)[keep], vals[ub]]), rhs,
                np.concatenate([np.arange(n), tree_brick, tree_brick, self.point_upper]))
        return self._lp_rows

    def linear_program(self, bricks: np.ndarray | None = None) -> LinearProgram:
        """The LP over ``bricks`` (bool mask; default all), which must be a union of whole
        components: their rows and the LP columns (``lp_columns``) they own.

        The knob forces are eliminated. Written in face rows, the horizontal balance of every face
        reads ``E k + g(x) = 0`` with ``E`` the incidence matrix of the knob forest (full column
        rank) and ``g`` everything else; it has a solution ``k`` iff ``g`` sums to 0 over every
        tree that does not contain the ground, and then exactly one. So the rows are each brick's
        Fz balance plus one tree sum per axis and ungrounded tree, which describe the same set of
        feasible pulls, presses, side pushes and residuals at the same cost (knob forces cost
        nothing and have no barrier term). :meth:`with_knob_forces` recovers ``k`` afterwards.
        """
        rows, cols, vals, rhs, row_brick = self._projected_rows()
        n_proj = rhs.size
        col_keep = self.lp_columns if bricks is None else self.lp_columns & bricks[self.var_brick]
        columns = np.flatnonzero(col_keep)
        col_new = np.cumsum(col_keep) - 1
        if bricks is None:  # every row
            sel = col_keep[cols]
            return LinearProgram(cost=self.cost[columns], b_eq=rhs, lower=self.lower_bounds[columns],
                                 n_ub=row_brick.size - n_proj, rows=rows[sel], cols=col_new[cols[sel]],
                                 vals=vals[sel], columns=columns)
        row_keep = bricks[row_brick]
        row_new = np.cumsum(row_keep) - 1
        sel = col_keep[cols] & row_keep[rows]
        return LinearProgram(cost=self.cost[columns], b_eq=rhs[row_keep[:n_proj]],
                             lower=self.lower_bounds[columns], n_ub=int(row_keep[n_proj:].sum()),
                             rows=row_new[rows[sel]], cols=col_new[cols[sel]], vals=vals[sel],
                             columns=columns)

    def with_knob_forces(self, x: np.ndarray) -> np.ndarray:
        """``x`` with the knob forces of the spanning forest set so that every face balances (least
        squares, i.e. exactly up to the LP's round-off); the other knob pairs are 0."""
        out = x.copy()
        kx, ky = self.blocks["knob_x"], self.blocks["knob_y"]
        out[kx] = 0.0
        out[ky] = 0.0
        forest = np.flatnonzero(self.knob_basis)
        if forest.size == 0:
            return out
        n = self.n_bricks
        if self._knob_solve is None:
            lo, up = self.knob_lower[forest], self.knob_upper[forest]
            inner = np.flatnonzero(lo >= 0)
            face = np.concatenate([n + lo[inner], up])  # +1 on the lower top face, -1 on the upper bottom
            edge = np.concatenate([inner, np.arange(forest.size)])
            sign = np.concatenate([np.ones(inner.size), -np.ones(forest.size)])
            if forest.size > 200:
                e = sp.csr_matrix((sign, (face, edge)), shape=(2 * n, forest.size))
                solve = splu((e.T @ e).tocsc()).solve
            else:
                e = np.zeros((2 * n, forest.size))
                e[face, edge] = sign
                solve = partial(np.linalg.solve, e.T @ e)
            self._knob_solve = (e, solve)
        e, solve = self._knob_solve
        g = self._balance(out)  # (N, 5): everything but the knob forces
        w = self._face_weights()
        supply = np.stack([np.concatenate([g @ w[:, axis, 0], g @ w[:, axis, 1]]) for axis in (0, 1)], axis=1)
        k = -solve(np.asarray(e.T @ supply))
        out[kx.start + forest] = k[:, 0]
        out[ky.start + forest] = k[:, 1]
        return out

    def _balance(self, x: np.ndarray, forces_only: bool = False) -> np.ndarray:
        """(N, 5) ``A x - rhs`` of the balance rows in scaled units (optionally without the residual
        variables)."""
        eq = self.rows < self.n_eq
        if forces_only:
            eq &= self.cols < self.blocks["res_pos"].start  # residual blocks are last
        lhs = np.bincount(self.rows[eq], weights=self.vals[eq] * x[self.cols[eq]], minlength=self.n_eq)
        return (lhs - self.eq_rhs).reshape(self.n_bricks, N_EQ)

    def imbalance(self, x: np.ndarray) -> np.ndarray:
        """(N, 5) signed residual of each balance equation in SI units (N, N*m), computed from the
        force variables alone so solver slack in the residual variables cannot leak in."""
        r = self._balance(x, forces_only=True)
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


@cache
def _hull_mask(n_offsets: int, nx: int, ny: int) -> np.ndarray:
    """(nx, ny, n_offsets) bool: which contact points of an nx x ny block of cells (pattern with
    ``n_offsets`` points per cell) are vertices of their convex hull. Exact: the coordinates are
    multiples of 1/8 stud, so the monotone chain runs on integers."""
    offsets = _EIGHTHS_4 if n_offsets == 4 else _EIGHTHS_3
    pts = [(8 * i + ox, 8 * j + oy, (i, j, o))
           for i in range(nx) for j in range(ny) for o, (ox, oy) in enumerate(offsets)]
    pts.sort()

    def chain(seq):
        out: list = []
        for p in seq:
            while len(out) >= 2 and ((out[-1][0] - out[-2][0]) * (p[1] - out[-2][1])
                                     - (out[-1][1] - out[-2][1]) * (p[0] - out[-2][0])) <= 0:
                out.pop()  # not a strict left turn: the middle point is no vertex
            out.append(p)
        return out[:-1]

    mask = np.zeros((nx, ny, n_offsets), dtype=bool)
    for p in chain(pts) + chain(pts[::-1]):
        mask[p[2]] = True
    return mask


#: Shared-rectangle sides covered by the flat hull table (library bricks are at most 8 long).
_HULL_SIDE = 8


@cache
def _hull_table() -> tuple[np.ndarray, np.ndarray]:
    """Every ``_hull_mask`` with sides up to ``_HULL_SIDE`` flattened into one array, and where
    each starts in it: ``start[n_offsets - 3, nx - 1, ny - 1]``."""
    start = np.zeros((2, _HULL_SIDE, _HULL_SIDE), dtype=np.int64)
    parts: list[np.ndarray] = []
    offset = 0
    for pattern in (3, 4):
        for nx in range(1, _HULL_SIDE + 1):
            for ny in range(1, _HULL_SIDE + 1):
                start[pattern - 3, nx - 1, ny - 1] = offset
                parts.append(_hull_mask(pattern, nx, ny).reshape(-1))
                offset += parts[-1].size
    return np.concatenate(parts), start


def _hull_points(conn_pair: np.ndarray, conn_cell: np.ndarray, n_pairs: int, n_pts: np.ndarray,
                 p_conn: np.ndarray, p_local: np.ndarray) -> np.ndarray:
    """Per contact point: is it a vertex of the convex hull of its brick pair's contact points?

    The cells two bricks share form a rectangle and every cell carries the same point pattern, so
    the answer depends only on (pattern, rectangle size, position in it) and comes from a table.
    """
    if p_conn.size == 0:
        return np.zeros(0, dtype=bool)
    cx, cy = conn_cell[:, 0], conn_cell[:, 1]
    lo_x = np.full(n_pairs, np.iinfo(np.int64).max)
    lo_y = lo_x.copy()
    hi_x = np.full(n_pairs, np.iinfo(np.int64).min)
    hi_y = hi_x.copy()
    np.minimum.at(lo_x, conn_pair, cx)
    np.minimum.at(lo_y, conn_pair, cy)
    np.maximum.at(hi_x, conn_pair, cx)
    np.maximum.at(hi_y, conn_pair, cy)
    pair = conn_pair[p_conn]
    i = (cx - lo_x[conn_pair])[p_conn]
    j = (cy - lo_y[conn_pair])[p_conn]
    nx = (hi_x - lo_x + 1)[pair]
    ny = (hi_y - lo_y + 1)[pair]
    pattern = n_pts[p_conn]
    if max(int(nx.max()), int(ny.max())) <= _HULL_SIDE:
        table, start = _hull_table()
        return table[start[pattern - 3, nx - 1, ny - 1] + (i * ny + j) * pattern + p_local]
    span = int(max(nx.max(), ny.max())) + 1  # larger than any library brick: one table per shape
    keys, inverse = np.unique((pattern * span + nx) * span + ny, return_inverse=True)
    keep = np.zeros(p_conn.size, dtype=bool)
    for k, key in enumerate(keys.tolist()):
        sel = np.flatnonzero(inverse == k)
        rest, ky = divmod(key, span)
        pat, kx = divmod(rest, span)
        keep[sel] = _hull_mask(pat, kx, ky)[i[sel], j[sel], p_local[sel]]
    return keep


def _forest(n_nodes: int, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Spanning forest of the undirected graph with edges ``(a[e], b[e])`` by Kruskal in edge order
    (so deterministic) and the component label of every node, numbered by smallest node (as
    scipy's ``connected_components`` does). Small graphs in plain Python (less overhead)."""
    if n_nodes + a.size > 600:
        graph = sp.csr_matrix((np.arange(1, a.size + 1, dtype=float), (a, b)), shape=(n_nodes, n_nodes))
        in_forest = np.zeros(a.size, dtype=bool)
        in_forest[np.rint(minimum_spanning_tree(graph).data).astype(np.int64) - 1] = True
        return in_forest, connected_components(graph, directed=False)[1].astype(np.int64)
    parent = list(range(n_nodes))

    def find(v: int) -> int:
        while parent[v] != v:
            parent[v] = parent[parent[v]]
            v = parent[v]
        return v

    kept = []
    for u, v in zip(a.tolist(), b.tolist(), strict=True):
        ru, rv = find(u), find(v)
        if ru != rv:
            parent[max(ru, rv)] = min(ru, rv)  # the root is the smallest node of its tree
        kept.append(ru != rv)
    number: dict[int, int] = {}
    label = [number.setdefault(find(v), len(number)) for v in range(n_nodes)]
    return np.array(kept, dtype=bool), np.array(label, dtype=np.int64)


def _horizontal_basis(n: int, knob_lower: np.ndarray, knob_upper: np.ndarray, side_minus: np.ndarray,
                      side_plus: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Which knob pairs and side pairs the LP needs (module docstring, "Redundant columns"), and
    the tree of every node.

    Graph nodes: brick bottom faces ``0..n-1``, top faces ``n..2n-1`` and the ground ``2n``; a knob
    pair joins the lower brick's top face (or the ground) to the upper brick's bottom face. Kept:
    the knob pairs of a spanning forest (Kruskal by pair index, so deterministic) and the side pairs
    whose two bottom faces lie in different trees.
    """
    knob_keep, tree_id = _forest(2 * n + 1, np.where(knob_lower >= 0, n + knob_lower, 2 * n), knob_upper)
    return knob_keep, tree_id[side_minus] != tree_id[side_plus], tree_id


def _tree_hops(face_tree: np.ndarray, n: int) -> np.ndarray:
    """Per brick: hops(bottom-face tree) + hops(top-face tree), where hops counts the bricks on a
    shortest chain of bricks from a tree to the ground's tree (each brick links the trees of its two
    faces); ``inf`` where there is no chain."""
    bottom, top = face_tree[:n] + 1, face_tree[n:] + 1  # node 0: the ground's tree
    n_nodes = int(face_tree.max()) + 2 if n else 1
    if n > 600:
        graph = sp.csr_matrix((np.ones(n), (bottom, top)), shape=(n_nodes, n_nodes))
        hops = shortest_path(graph, directed=False, unweighted=True, indices=0)
    else:
        adjacent: list[list[int]] = [[] for _ in range(n_nodes)]
        for u, v in zip(bottom.tolist(), top.tolist(), strict=True):
            adjacent[u].append(v)
            adjacent[v].append(u)
        hop = [-1] * n_nodes
        hop[0] = 0
        frontier = [0]
        while frontier:
            nxt = []
            for u in frontier:
                for v in adjacent[u]:
                    if hop[v] < 0:
                        hop[v] = hop[u] + 1
                        nxt.append(v)
            frontier = nxt
        hops = np.array(hop, dtype=float)
        hops[hops < 0] = np.inf
    return hops[bottom] + hops[top]


def _knob_pairs(conn_lower: np.ndarray, conn_upper: np.ndarray, n: int) -> tuple[np.ndarray, ...]:
    """Distinct (lower, upper) pairs of the connections sorted by (lower, upper), and the pair of
    every connection."""
    key = (conn_lower + 1) * (n + 1) + conn_upper
    if n < 256:  # a mark table beats sorting
        mark = np.zeros((n + 1) * (n + 1), dtype=bool)
        mark[key] = True
        pair_key = np.flatnonzero(mark)
        conn_pair = np.searchsorted(pair_key, key)
    else:
        pair_key, conn_pair = np.unique(key, return_inverse=True)
    knob_lower, knob_upper = np.divmod(pair_key, n + 1)
    return knob_lower - 1, knob_upper, pair_key.size, conn_pair.reshape(-1)


# Axis (0 = x, 1 = y) of the horizontal balance rows (Fz: unused).
_AXIS = np.array([0, 1, 0, 1, 0])
# Row kinds of the vertical point triplets: press then pull, each on (Fz, tau1, tau2).
_POINT_KINDS = np.array([FZ, TAU1, TAU2, FZ, TAU1, TAU2])[:, None]
# Row kinds of the knob triplets (columns knob_x, knob_y, knob_x, knob_y).
_KNOB_KINDS = np.array([FX, FY, TAU2, TAU1])[:, None]
# Signs of the press entries (Fz, tau1, tau2) = sign * (1, dy, -dx), for the lower / upper brick.
_PRESS_SIGNS = (np.array([[-1.0], [-1.0], [1.0]]), np.array([[1.0], [1.0], [-1.0]]))


def build_model(arr: np.ndarray, masses: np.ndarray, occ: Occupancy | CellMap,
                c: ModelConstants) -> StabilityModel:
    """Assemble the LP for bricks ``arr`` ((N, 5) h, w, x, y, z) without collisions.

    ``occ`` must be the occupancy (dense or :class:`~brickfield.lego.grid.CellMap`) of the same
    bricks (it provides the neighbour lookups) and every brick must lie inside its grid. Cost is
    O(total stud cells) numpy work with a fixed number of numpy calls, no per-variable loops.
    """
    n = arr.shape[0]
    center = arr[:, 2:4] + (arr[:, :2] - 1) / 2.0
    ctr_x, ctr_y = center[:, 0], center[:, 1]
    one_wide = arr[:, :2].min(axis=1) < 2
    arm = c.brick_height / (2.0 * c.stud_pitch)  # horizontal forces act at +-H/2, in studs

    # --- stud connections and their contact points: 4 under a 1-wide brick, else 3 ---------------
    conn_upper, conn_lower, conn_cell = stud_connections(arr, occ)
    four = one_wide[conn_upper]
    n_pts = np.where(four, 4, 3)
    p_conn = np.repeat(np.arange(conn_upper.size), n_pts)
    n_p = p_conn.size
    p_local = np.arange(n_p) - (np.cumsum(n_pts) - n_pts)[p_conn]
    point_xy = conn_cell[p_conn, :2] + _OFFSETS_34[p_local + 3 * four[p_conn]]
    p_up = conn_upper[p_conn]
    p_lo = conn_lower[p_conn]

    side_axis, side_minus, side_plus = side_contacts(occ)
    knob_lower, knob_upper, n_pairs, conn_pair = _knob_pairs(conn_lower, conn_upper, n)
    has_points = np.zeros(n, dtype=bool)
    has_points[p_up] = True
    mp_brick = np.flatnonzero(has_points)

    sizes = {"pull": n_p, "press": n_p, "knob_x": n_pairs, "knob_y": n_pairs, "side": side_plus.size,
             "max_pull": mp_brick.size, "res_pos": N_EQ * n, "res_neg": N_EQ * n}
    blocks: dict[str, slice] = {}
    off = 0
    for name, size in sizes.items():
        blocks[name] = slice(off, off + size)
        off += size
    n_vars = off
    n_eq = N_EQ * n
    pull0, press0, kx0, ky0 = (blocks[k].start for k in ("pull", "press", "knob_x", "knob_y"))

    # Triplets, in blocks of (rows, cols, vals).
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    # Vertical points. Fz at lever (dx, dy) from the centre gives tau1 = dy*Fz, tau2 = -dx*Fz.
    # The upper brick receives (press - pull), the lower one (pull - press).
    point_cols = np.array([press0] * 3 + [pull0] * 3)[:, None]
    pts = np.arange(n_p)
    for pts_b, sign in ((pts, 1.0), (np.flatnonzero(p_lo >= 0), -1.0)):
        b = (p_up if sign > 0 else p_lo)[pts_b]
        xy = point_xy[pts_b]
        # press: sign * (1, dy, -dx), pull: the negative (multiplying by +-1 is exact)
        press = np.stack([np.ones(b.size), xy[:, 1] - ctr_y[b], xy[:, 0] - ctr_x[b]]) * _PRESS_SIGNS[sign > 0]
        parts.append((N_EQ * b + _POINT_KINDS, point_cols + pts_b, np.concatenate([press, -press])))

    # Knob force (kx, ky) acts on the lower brick at its top face (+arm) and, reversed, on the
    # upper brick at its bottom face (-arm); both therefore get the same torque.
    knob_cols = np.array([kx0, ky0, kx0, ky0])[:, None]
    pairs = np.arange(n_pairs)
    inner = np.flatnonzero(knob_lower >= 0)
    for pairs_b, brick, sign in ((inner, knob_lower, 1.0), (pairs, knob_upper, -1.0)):
        vals = np.array([sign, sign, arm, -arm])[:, None]
        parts.append((N_EQ * brick[pairs_b] + _KNOB_KINDS, knob_cols + pairs_b,
                      np.repeat(vals, pairs_b.size, 1)))

    # Side pushes act at the bottom of the layer (-arm): +s on side_plus, -s on side_minus. Sorted by
    # axis (x first); per brick role the entries go Fx, tau2 over the x pairs, then Fy, tau1 over y.
    if side_plus.size:
        is_x = side_axis == 0
        n_x = int(np.count_nonzero(is_x))
        kinds = np.where(is_x, np.array([[FX], [TAU2]]), np.array([[FY], [TAU1]]))
        lever = np.where(is_x, np.array([[1.0], [-arm]]), np.array([[1.0], [arm]]))
        side_rows = np.stack([N_EQ * side_plus + kinds, N_EQ * side_minus + kinds])  # (role, kind, pair)
        side_vals = np.stack([lever, -lever])
        side_cols = np.broadcast_to(blocks["side"].start + np.arange(side_plus.size), side_rows.shape)
        parts.append(tuple(np.concatenate([a[:, :, :n_x].reshape(2, -1), a[:, :, n_x:].reshape(2, -1)],
                                          axis=1) for a in (side_rows, side_cols, side_vals)))

    # Residuals: A x - r_pos + r_neg = rhs, so r_pos - r_neg is the imbalance.
    eq_rows = np.arange(n_eq)
    res0 = blocks["res_pos"].start
    parts.append((np.concatenate([eq_rows, eq_rows]), np.arange(res0, res0 + 2 * n_eq),
                  np.repeat([-1.0, 1.0], n_eq)))

    # pull_k - max_pull_b <= 0
    mp_index = np.cumsum(has_points) - 1
    parts.append((np.concatenate([n_eq + pts, n_eq + pts]),
                  np.concatenate([pull0 + pts, blocks["max_pull"].start + mp_index[p_up]]),
                  np.repeat([1.0, -1.0], n_p)))
    rows = np.concatenate([p[0].reshape(-1) for p in parts])
    cols = np.concatenate([p[1].reshape(-1) for p in parts])
    vals = np.concatenate([p[2].reshape(-1) for p in parts])

    eq_rhs = np.zeros(n_eq)
    # Weight is uniform over the footprint, so its torque about the centre is zero: only Fz sees it.
    eq_rhs[FZ::N_EQ] = masses * 1000.0  # kg -> gram-force

    cost = np.zeros(n_vars)
    cost[blocks["pull"]] = c.beta
    cost[blocks["max_pull"]] = c.alpha
    cost[res0:].reshape(2 * n, N_EQ)[:] = (1.0, 1.0, 1.0, c.stud_pitch, c.stud_pitch)

    lower = np.zeros(n_vars)
    lower[kx0:blocks["knob_y"].stop] = -np.inf

    # --- redundant columns (module docstring) and independent components -------------------------
    knob_keep, side_keep, node_tree = _horizontal_basis(n, knob_lower, knob_upper, side_minus, side_plus)
    lp_columns = np.ones(n_vars, dtype=bool)
    lp_columns[blocks["press"]] = _hull_points(conn_pair, conn_cell, n_pairs, n_pts, p_conn, p_local)
    lp_columns[kx0:blocks["knob_y"].stop] = False  # eliminated: see StabilityModel.linear_program
    lp_columns[blocks["side"]] = side_keep
    # Trees of face nodes, renumbered without the ground's tree (which has no equation): -1. Labels
    # are numbered by smallest node, so dropping the ground's label shifts the larger ones by one.
    ground_tree = node_tree[2 * n]
    face_tree = node_tree[: 2 * n]
    face_tree = np.where(face_tree == ground_tree, -1, face_tree - (face_tree > ground_tree))
    # Horizontal force residuals that chains of torque residuals undercut (module docstring).
    undercut = _tree_hops(face_tree, n) * (c.stud_pitch * 2.0 * arm) < 2.0
    for kind in (FX, FY):
        lp_columns[res0 + N_EQ * np.flatnonzero(undercut) + kind] = False
        lp_columns[res0 + n_eq + N_EQ * np.flatnonzero(undercut) + kind] = False
    brick_res = np.repeat(np.arange(n), N_EQ)
    var_brick = np.concatenate([p_up, p_up, knob_upper, knob_upper, side_plus, mp_brick, brick_res,
                                brick_res])
    solid = knob_lower >= 0
    component = _forest(n, np.concatenate([knob_lower[solid], side_minus]),
                        np.concatenate([knob_upper[solid], side_plus]))[1]

    return StabilityModel(
        n_bricks=n, blocks=blocks, cost=cost, rows=rows, cols=cols, vals=vals, n_eq=n_eq, n_ub=n_p,
        eq_rhs=eq_rhs, lower_bounds=lower, force_unit=c.force_unit, stud_pitch=c.stud_pitch, alpha=c.alpha,
        beta=c.beta, brick_center=center, brick_z=arr[:, 4].copy(), component=component,
        point_upper=p_up, point_lower=p_lo, point_xy=point_xy,
        conn_upper=conn_upper, conn_lower=conn_lower, conn_cell=conn_cell,
        knob_upper=knob_upper, knob_lower=knob_lower,
        side_plus=side_plus, side_minus=side_minus, side_axis=side_axis, max_pull_brick=mp_brick,
        var_brick=var_brick, lp_columns=lp_columns, knob_basis=knob_keep, face_tree=face_tree, arm=arm,
    )


def press_only_solution(m: StabilityModel, rel_tol: float = 1e-12) -> tuple[np.ndarray, np.ndarray]:
    """Try to hold every component by press forces alone; returns ``(x, held)``.

    ``held[c]`` is True when component ``c`` is held: then ``x`` carries press forces at its contact
    points that balance every brick of ``c`` (to round-off) with no pull, no horizontal force and no
    residual, i.e. an objective of 0, which is optimal (see the module docstring). ``x`` is 0 on
    every other component.

    Top-down, one vectorised pass per layer: each brick collects its weight (at its centre) and the
    presses of the bricks above it, and spreads the resultant over the contact points below it as a
    linear pressure ``p = F/k + a*dx + b*dy`` (the exact least-norm split). Where that goes negative
    somewhere it tries a non-negative least-squares split; a resultant outside the hull of the
    supports (or a brick with nothing below) means the component needs the LP.
    """
    n = m.n_bricks
    x = np.zeros(m.n_vars)
    held = np.ones(m.n_components, dtype=bool)
    if n == 0:
        return x, held
    up, lo, xy = m.point_upper, m.point_lower, m.point_xy
    count = np.bincount(up, minlength=n).astype(float)
    held[np.unique(m.component[count == 0])] = False  # nothing below: hanging or floating
    safe = np.maximum(count, 1.0)
    mean_x = np.bincount(up, xy[:, 0], n) / safe
    mean_y = np.bincount(up, xy[:, 1], n) / safe
    dx = xy[:, 0] - mean_x[up]
    dy = xy[:, 1] - mean_y[up]
    sxx = np.bincount(up, dx * dx, n)
    sxy = np.bincount(up, dx * dy, n)
    syy = np.bincount(up, dy * dy, n)
    det = sxx * syy - sxy * sxy
    det[det == 0.0] = 1.0  # only bricks without points (already failed); every pattern is 2-D

    force = m.eq_rhs[FZ::N_EQ].copy()  # weight in gram-force, acting at the centre
    mom_x = force * m.brick_center[:, 0]
    mom_y = force * m.brick_center[:, 1]
    press = np.zeros(up.size)
    z_up = m.brick_z[up]
    order = np.argsort(-z_up, kind="stable")  # points grouped by layer, top layer first
    bounds = np.flatnonzero(np.diff(z_up[order])) + 1
    for pts in np.split(order, bounds):
        if pts.size == 0:
            continue
        if not held.any():
            break
        b = up[pts]
        f = force[b]
        mx = mom_x[b] - f * mean_x[b]
        my = mom_y[b] - f * mean_y[b]
        a = (syy[b] * mx - sxy[b] * my) / det[b]
        c = (sxx[b] * my - sxy[b] * mx) / det[b]
        p = f / count[b] + a * dx[pts] + c * dy[pts]
        for brick in np.unique(b[p < 0.0]):
            if not held[m.component[brick]]:
                continue
            sel = np.flatnonzero(b == brick)
            lever = np.stack([np.ones(sel.size), dx[pts[sel]], dy[pts[sel]]])
            want = np.array([force[brick], mx[sel[0]], my[sel[0]]])
            sol, res = nnls(lever, want)
            if res > rel_tol * (np.abs(want).sum() + 1.0):
                held[m.component[brick]] = False
            else:
                p[sel] = sol
        press[pts] = p
        below = lo[pts]
        on_brick = below >= 0
        lb, pb = below[on_brick], p[on_brick]
        force += np.bincount(lb, pb, n)
        mom_x += np.bincount(lb, pb * xy[pts[on_brick], 0], n)
        mom_y += np.bincount(lb, pb * xy[pts[on_brick], 1], n)

    ok_points = held[m.component[up]]
    x[m.blocks["press"].start + np.flatnonzero(ok_points)] = press[ok_points]
    return x, held
