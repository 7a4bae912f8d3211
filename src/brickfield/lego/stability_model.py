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
from functools import cache, cached_property, partial
from itertools import pairwise

import numpy as np
import scipy.sparse as sp
from scipy.optimize import nnls
from scipy.sparse.csgraph import connected_components, minimum_spanning_tree, shortest_path
from scipy.sparse.linalg import splu

from brickfield.lego.grid import LayerContacts, Occupancy, side_contacts, stud_connections

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

    Constraints, as COO triplets (``rows``, ``cols``, ``vals``, built on first use: the analysis
    itself only needs the LP, :meth:`linear_program`): rows ``0 .. n_eq-1`` are the balance
    equations ``A x == eq_rhs`` (5 per brick: Fx, Fy, Fz, tau1, tau2), rows ``n_eq ..`` are
    ``pull_k - max_pull_b <= 0`` (one per contact point).

    ``lp_columns`` marks the columns a solver needs; the others are redundant (see the module
    docstring) and stay 0 in every solution this package produces.
    """

    n_bricks: int
    blocks: dict[str, slice]
    cost: np.ndarray
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
    _triplets: tuple | None = field(default=None, init=False, repr=False)
    _lp_rows: tuple | None = field(default=None, init=False, repr=False)
    _knob_solve: object = field(default=None, init=False, repr=False)

    @property
    def rows(self) -> np.ndarray:
        """Constraint row of every COO triplet (built on first use, see the class docstring)."""
        return self._balance_triplets()[0]

    @property
    def cols(self) -> np.ndarray:
        return self._balance_triplets()[1]

    @property
    def vals(self) -> np.ndarray:
        return self._balance_triplets()[2]

    def _balance_triplets(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self._triplets is None:
            self._triplets = _model_triplets(self)
        return self._triplets

    @property
    def n_vars(self) -> int:
        return int(self.cost.size)

    @property
    def n_points(self) -> int:
        return int(self.point_upper.size)

    @cached_property
    def n_components(self) -> int:
        return int(self.component.max()) + 1 if self.component.size else 0

    @cached_property
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
        """Triplets (rows, cols, vals; duplicates to be summed) of the LP's constraint rows over the
        LP columns (``lp_columns``, model numbering), the right-hand side and the brick of every row
        (cached).

        Rows: the Fz balance of every brick, then one row per ungrounded tree for x and one for y
        (the sum of its face rows, i.e. the balance triplets weighted by ``_face_weights``), then
        the max-pull rows ``pull - max_pull <= 0`` unchanged.
        """
        if self._lp_rows is None:
            self._lp_rows = _projected_triplets(self)
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
        if bricks is None:  # every row; the triplets hold LP columns only
            return LinearProgram(cost=self.cost[columns], b_eq=rhs, lower=self.lower_bounds[columns],
                                 n_ub=row_brick.size - n_proj, rows=rows, cols=col_new[cols], vals=vals,
                                 columns=columns)
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

    def residual_imbalance(self, x: np.ndarray) -> np.ndarray:
        """(N, 5) signed residual of each balance equation in SI units, read from the residual
        variables ``res_pos - res_neg``. Equals :meth:`imbalance` when the knob forces of ``x``
        are those of :meth:`with_knob_forces` (the face balances then hold exactly), up to the LP's
        feasibility tolerance (~1e-11 N); the analysis reads this one, which needs no knob forces."""
        r = (x[self.blocks["res_pos"]] - x[self.blocks["res_neg"]]).reshape(self.n_bricks, N_EQ)
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

    def objective(self, x: np.ndarray, imbalance: np.ndarray | None = None,
                  max_pull: np.ndarray | None = None) -> float:
        """Reference objective in SI units, evaluated with exact residuals (``imbalance``: the
        (N, 5) residuals to use instead, e.g. :meth:`residual_imbalance`; ``max_pull``: that of
        ``x`` if already at hand)."""
        res = np.abs(self.imbalance(x) if imbalance is None else imbalance).sum()
        mp = self.max_pull(x) if max_pull is None else max_pull
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


@cache
def _pair_template(n_offsets: int, nx: int, ny: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The cells (x-major) of an nx x ny block and their contact points (``n_offsets`` per cell),
    relative to the block's corner: ``(cells, points, p_local, hull)``, ``hull`` as ``_hull_mask``."""
    cells = np.array([(i, j) for i in range(nx) for j in range(ny)], dtype=np.int64)
    offsets = _OFFSETS_4 if n_offsets == 4 else _OFFSETS_3
    points = (cells[:, None, :] + offsets[None, :, :]).reshape(-1, 2)
    p_local = np.tile(np.arange(n_offsets), nx * ny)
    return cells, points, p_local, _hull_mask(n_offsets, nx, ny).reshape(-1)


def _pair_points(stacked: list[tuple[int, int, int, int, int, int]], one_wide: list[bool],
                 z: list[int]) -> tuple[np.ndarray, ...]:
    """Stud connections and contact points from ``LayerContacts.stacked`` (already in pair order)
    and the cached per-block templates: ``(conn_upper, conn_lower, conn_cell, knob_lower,
    knob_upper, p_conn, p_local, point_xy, hull)``."""
    if not stacked:
        i = np.zeros(0, dtype=np.int64)
        return i, i, np.zeros((0, 3), dtype=np.int64), i, i, i, i, np.zeros((0, 2)), np.zeros(0, dtype=bool)
    templates = [_pair_template(4 if one_wide[up] else 3, nx, ny) for _, up, _, _, nx, ny in stacked]
    pairs = np.array(stacked, dtype=np.int64)
    n_cells = pairs[:, 4] * pairs[:, 5]
    corner = np.stack([pairs[:, 2], pairs[:, 3], np.array([z[up] for _, up, *_ in stacked], dtype=np.int64)],
                      axis=1)
    n_pts = np.array([t[2].size for t in templates], dtype=np.int64)
    conn_cell = np.concatenate([t[0] for t in templates]).reshape(-1, 2)
    conn_cell = np.concatenate([conn_cell, np.zeros((conn_cell.shape[0], 1), dtype=np.int64)], axis=1)
    conn_cell += np.repeat(corner, n_cells, axis=0)
    point_xy = np.concatenate([t[1] for t in templates]).reshape(-1, 2)
    point_xy += np.repeat(corner[:, :2], n_pts, axis=0)
    p_local = np.concatenate([t[2] for t in templates])
    p_conn = np.repeat(np.arange(conn_cell.shape[0]), np.repeat(n_pts // n_cells, n_cells))
    hull = np.concatenate([t[3] for t in templates])
    return (np.repeat(pairs[:, 1], n_cells), np.repeat(pairs[:, 0], n_cells), conn_cell, pairs[:, 0],
            pairs[:, 1], p_conn, p_local, point_xy, hull)


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


def _graphs(n: int, knob_lower: np.ndarray, knob_upper: np.ndarray, side_minus: np.ndarray,
            side_plus: np.ndarray, small: int = 600) -> tuple[np.ndarray, ...]:
    """The graph facts the model needs (module docstring): which knob pairs and side pairs the LP
    keeps, the tree of every face, the torque-chain hops of every brick and its component.

    Knob forest: nodes are brick bottom faces ``0..n-1``, top faces ``n..2n-1`` and the ground
    ``2n``; a knob pair joins the lower brick's top face (or the ground) to the upper brick's bottom
    face. Kept: the knob pairs of a spanning forest (Kruskal by pair index, so deterministic) and the
    side pairs whose two bottom faces lie in different trees. ``face_tree``: (2N,) tree of each
    bottom face and top face, numbered by smallest face, -1 for the ground's tree (no equation).
    ``hops``: see ``_tree_hops``. ``component``: bricks joined by knob pairs or side pairs, numbered
    by smallest brick. Graphs with ``small`` or more nodes and edges go through scipy.
    """
    if 2 * n + 1 + knob_lower.size + side_minus.size >= small:
        knob_keep, node_tree = _forest(2 * n + 1, np.where(knob_lower >= 0, n + knob_lower, 2 * n),
                                       knob_upper)
        ground_tree = node_tree[2 * n]
        face_tree = node_tree[: 2 * n]
        # Labels are numbered by smallest node: dropping the ground's shifts the larger ones by one.
        face_tree = np.where(face_tree == ground_tree, -1, face_tree - (face_tree > ground_tree))
        solid = knob_lower >= 0
        component = _forest(n, np.concatenate([knob_lower[solid], side_minus]),
                            np.concatenate([knob_upper[solid], side_plus]))[1]
        return (knob_keep, node_tree[side_minus] != node_tree[side_plus], face_tree, _tree_hops(face_tree, n),
                component)

    parent = list(range(2 * n + 1))

    def find(v: int) -> int:
        while parent[v] != v:
            parent[v] = parent[parent[v]]
            v = parent[v]
        return v

    lower, upper = knob_lower.tolist(), knob_upper.tolist()
    keep = []
    for lo, up in zip(lower, upper, strict=True):
        ra, rb = find(n + lo if lo >= 0 else 2 * n), find(up)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)  # the root is the smallest node of its tree
        keep.append(ra != rb)
    root = [find(v) for v in range(2 * n + 1)]
    ground = root[2 * n]
    number: dict[int, int] = {}
    face_tree = [-1 if r == ground else number.setdefault(r, len(number)) for r in root[: 2 * n]]
    minus, plus = side_minus.tolist(), side_plus.tolist()
    side_keep = [root[a] != root[b] for a, b in zip(minus, plus, strict=True)]

    # Hops to the ground's tree over bricks (each links the trees of its two faces): breadth first.
    adjacent: list[list[int]] = [[] for _ in range(len(number) + 1)]  # node 0: the ground's tree
    for u, v in zip(face_tree[:n], face_tree[n:], strict=True):
        adjacent[u + 1].append(v + 1)
        adjacent[v + 1].append(u + 1)
    hop = [-1] * (len(number) + 1)
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
    far = [float(h) if h >= 0 else np.inf for h in hop]  # inf: no chain
    hops = [far[u + 1] + far[v + 1] for u, v in zip(face_tree[:n], face_tree[n:], strict=True)]

    parent = list(range(n))
    solid = [(lo, up) for lo, up in zip(lower, upper, strict=True) if lo >= 0]
    for a, b in solid + list(zip(minus, plus, strict=True)):
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    number = {}
    component = [number.setdefault(find(v), len(number)) for v in range(n)]
    return (np.array(keep, dtype=bool), np.array(side_keep, dtype=bool), np.array(face_tree, dtype=np.int64),
            np.array(hops, dtype=float), np.array(component, dtype=np.int64))


def _tree_hops(face_tree: np.ndarray, n: int) -> np.ndarray:
    """Per brick: hops(bottom-face tree) + hops(top-face tree), where hops counts the bricks on a
    shortest chain of bricks from a tree to the ground's tree (each brick links the trees of its two
    faces); ``inf`` where there is no chain."""
    bottom, top = face_tree[:n] + 1, face_tree[n:] + 1  # node 0: the ground's tree
    n_nodes = int(face_tree.max()) + 2 if n else 1
    graph = sp.csr_matrix((np.ones(n), (bottom, top)), shape=(n_nodes, n_nodes))
    hops = shortest_path(graph, directed=False, unweighted=True, indices=0)
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
# Margin (studs) of the bounding-box test in ``press_only_solution``: a resultant this far outside
# the box is far outside the hull for the least-squares test too (its residual would be > 1e-8 f).
_OUTSIDE = 1e-6
# Kinds of the residual columns in ``_projected_triplets`` (one per LP entry; Fz twice for shape).
_RES_KINDS = np.array([FX, FX, FY, FY, FZ, FZ, TAU1, TAU1, TAU2, TAU2])
# Signs of the press entries (Fz, tau1, tau2) = sign * (1, dy, -dx), for the lower / upper brick.
_PRESS_SIGNS = (np.array([[-1.0], [-1.0], [1.0]]), np.array([[1.0], [1.0], [-1.0]]))


def _model_triplets(m: StabilityModel) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """COO triplets of the full model's constraints (see :class:`StabilityModel`)."""
    n_eq, n_p, arm = m.n_eq, m.n_points, m.arm
    blocks = m.blocks
    p_up, p_lo, point_xy = m.point_upper, m.point_lower, m.point_xy
    ctr_x, ctr_y = m.brick_center[:, 0], m.brick_center[:, 1]
    knob_lower, knob_upper = m.knob_lower, m.knob_upper
    side_axis, side_plus, side_minus = m.side_axis, m.side_plus, m.side_minus
    pull0, press0, kx0, ky0 = (blocks[k].start for k in ("pull", "press", "knob_x", "knob_y"))
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
    for pairs_b, brick, sign in ((np.flatnonzero(knob_lower >= 0), knob_lower, 1.0),
                                 (np.arange(knob_upper.size), knob_upper, -1.0)):
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
    mp_col = blocks["max_pull"].start + np.searchsorted(m.max_pull_brick, p_up)
    parts.append((np.concatenate([n_eq + pts, n_eq + pts]), np.concatenate([pull0 + pts, mp_col]),
                  np.repeat([1.0, -1.0], n_p)))
    return tuple(np.concatenate([p[i].reshape(-1) for p in parts]) for i in range(3))  # type: ignore[return-value]


def _projected_triplets(m: StabilityModel) -> tuple[np.ndarray, ...]:
    """``StabilityModel._projected_rows``, built from the contacts directly (LP columns only):
    every balance triplet of kind Fx / tau2 (Fy / tau1) goes to the x (y) rows of its brick's
    bottom-face and top-face trees with the ``_face_weights``, i.e. (bottom, top) ``(1/2, 1/2)``
    for Fx, Fy, ``(-lever, lever)`` for tau2 and ``(lever, -lever)`` for tau1 (``lever = 1/(2 arm)``)."""
    n, t, n_p = m.n_bricks, m.n_trees, m.n_points
    n_proj = n + 2 * t
    lever = 1.0 / (2.0 * m.arm)
    blocks = m.blocks
    p_up, p_lo = m.point_upper, m.point_lower
    # Per brick: its Fz row, then the x row of its bottom-face and top-face tree, then the y rows.
    face = m.face_tree.reshape(2, n).T  # (N, 2): bottom, top
    brick_rows = np.concatenate([np.arange(n)[:, None], np.where(face >= 0, n + face, -1),
                                 np.where(face >= 0, n + t + face, -1)], axis=1)
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    # Vertical points: sign * (1, dy, -dx) on (Fz, tau1, tau2), sign +1 for the press on the upper
    # brick (every point), -1 on the lower one (points not on the ground); a pull is the negative.
    pts = np.flatnonzero(p_lo >= 0)
    pts = np.concatenate([np.arange(n_p), pts])
    brick = np.concatenate([p_up, p_lo[pts[n_p:]]])
    sign = np.ones(pts.size)
    sign[n_p:] = -1.0
    d = (m.point_xy[pts] - m.brick_center[brick]) * (sign * lever)[:, None]
    vals = np.empty((pts.size, 5))
    vals[:, 0] = sign
    vals[:, 1::2] = d  # bottom-face rows: lever * sign * (dx, dy)
    vals[:, 2::2] = -d  # top-face rows
    rows = brick_rows[brick]
    cols = np.repeat(pts, 5).reshape(-1, 5)
    press = m.lp_columns[blocks["press"].start + pts]  # presses at hull vertices only
    parts = [(rows[press], blocks["press"].start + cols[press], vals[press]),
             (rows, blocks["pull"].start + cols, -vals)]

    # Side pushes: sign * (1, arm) on (Fx, -tau2) or (Fy, tau1): 1/2 + arm*lever on the bottom-face
    # row and 1/2 - arm*lever (round-off) on the top-face row of the push's axis.
    sides = np.flatnonzero(m.lp_columns[blocks["side"]])
    if sides.size:
        first_row = (n + t * m.side_axis[sides])[:, None]  # of the push's axis
        cols = np.repeat(blocks["side"].start + sides, 4)
        for side_brick, side_sign in ((m.side_plus[sides], 1.0), (m.side_minus[sides], -1.0)):
            rows = np.where(face[side_brick] >= 0, first_row + face[side_brick], -1)[:, [0, 1, 0, 1]]
            vals = np.array([[0.5, 0.5, m.arm * lever, -m.arm * lever]]) * side_sign
            parts.append((rows, cols, vals.repeat(sides.size, axis=0)))

    # Residuals r_pos (-1 on the row) and r_neg (+1), kinds Fx, Fy, Fz, tau1, tau2 per brick, without
    # the undercut Fx, Fy columns.
    res0 = blocks["res_pos"].start
    res_rows = brick_rows[:, [1, 2, 3, 4, 0, 0, 3, 4, 1, 2]]  # Fx: x, Fy: y, Fz, tau1, tau2
    res_vals = -np.array([[0.5, 0.5, 0.5, 0.5, 1.0, 0.0, lever, -lever, -lever, lever]]).repeat(n, axis=0)
    res_cols = res0 + N_EQ * np.arange(n)[:, None] + _RES_KINDS
    res = m.lp_columns[res_cols]
    res_rows, res_cols, res_vals = res_rows[res], res_cols[res], res_vals[res]
    parts += [(res_rows, res_cols, res_vals), (res_rows, res_cols + m.n_eq, -res_vals)]

    # pull_k - max_pull_b <= 0, unchanged
    ub_cols = np.empty((n_p, 2), dtype=np.int64)
    ub_cols[:, 0] = blocks["pull"].start + np.arange(n_p)
    ub_cols[:, 1] = blocks["max_pull"].start + np.searchsorted(m.max_pull_brick, p_up)
    ub_vals = np.empty((n_p, 2))
    ub_vals[:, 0] = 1.0
    ub_vals[:, 1] = -1.0
    parts.append((np.repeat(n_proj + np.arange(n_p), 2), ub_cols.reshape(-1), ub_vals.reshape(-1)))

    rows = np.concatenate([p[0].reshape(-1) for p in parts])
    keep = rows >= 0
    faces = np.flatnonzero(m.face_tree >= 0)
    tree_brick = np.zeros(t, dtype=np.int64)
    tree_brick[m.face_tree[faces]] = faces % n
    rhs = np.zeros(n_proj)
    rhs[:n] = m.eq_rhs[FZ::N_EQ]  # only Fz has a right-hand side (the weight)
    cols = np.concatenate([p[1].reshape(-1) for p in parts])
    vals = np.concatenate([p[2].reshape(-1) for p in parts])
    row_brick = np.concatenate([np.arange(n), tree_brick, tree_brick, p_up])
    return rows[keep], cols[keep], vals[keep], rhs, row_brick


def build_model(arr: np.ndarray, masses: np.ndarray, occ: Occupancy | LayerContacts,
                c: ModelConstants) -> StabilityModel:
    """Assemble the LP for bricks ``arr`` ((N, 5) h, w, x, y, z) without collisions.

    ``occ`` must be the occupancy (or :class:`~brickfield.lego.grid.LayerContacts`) of the same
    bricks (it provides the neighbour lookups) and every brick must lie inside its grid. Cost is
    O(total stud cells) numpy work with a fixed number of numpy calls, no per-variable loops.
    """
    n = arr.shape[0]
    center = arr[:, 2:4] + (arr[:, :2] - 1) / 2.0
    one_wide = arr[:, :2].min(axis=1) < 2
    arm = c.brick_height / (2.0 * c.stud_pitch)  # horizontal forces act at +-H/2, in studs

    # --- stud connections and their contact points: 4 under a 1-wide brick, else 3 ---------------
    # Ordered by brick pair (lower, upper) with the ground (-1) first, then by cell (x-major).
    if isinstance(occ, Occupancy):
        conn_upper, conn_lower, conn_cell = stud_connections(arr, occ)
        knob_lower, knob_upper, n_pairs, conn_pair = _knob_pairs(conn_lower, conn_upper, n)
        order = np.argsort(conn_pair, kind="stable")
        conn_upper, conn_lower, conn_cell, conn_pair = (a[order] for a in (conn_upper, conn_lower, conn_cell,
                                                                           conn_pair))
        four = one_wide[conn_upper]
        n_pts = np.where(four, 4, 3)
        p_conn = np.repeat(np.arange(conn_upper.size), n_pts)
        p_local = np.arange(p_conn.size) - (np.cumsum(n_pts) - n_pts)[p_conn]
        point_xy = conn_cell[p_conn, :2] + _OFFSETS_34[p_local + 3 * four[p_conn]]
        hull = _hull_points(conn_pair, conn_cell, n_pairs, n_pts, p_conn, p_local)
        side_axis, side_minus, side_plus = side_contacts(occ)
    else:
        (conn_upper, conn_lower, conn_cell, knob_lower, knob_upper, p_conn, p_local, point_xy,
         hull) = _pair_points(occ.stacked, one_wide.tolist(), arr[:, 4].tolist())
        n_pairs = knob_lower.size
        side_axis, side_minus, side_plus = occ.touching
    n_p = p_conn.size
    p_up = conn_upper[p_conn]
    p_lo = conn_lower[p_conn]

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
    kx0 = blocks["knob_x"].start

    res0 = blocks["res_pos"].start

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
    knob_keep, side_keep, face_tree, hops, component = _graphs(n, knob_lower, knob_upper, side_minus,
                                                               side_plus)
    lp_columns = np.ones(n_vars, dtype=bool)
    lp_columns[blocks["press"]] = hull
    lp_columns[kx0:blocks["knob_y"].stop] = False  # eliminated: see StabilityModel.linear_program
    lp_columns[blocks["side"]] = side_keep
    # Horizontal force residuals that chains of torque residuals undercut (module docstring).
    undercut = hops * (c.stud_pitch * 2.0 * arm) < 2.0
    lp_columns[res0:].reshape(2, n, N_EQ)[:, undercut, FX:FY + 1] = False
    brick_res = np.repeat(np.arange(n), N_EQ)
    var_brick = np.concatenate([p_up, p_up, knob_upper, knob_upper, side_plus, mp_brick, brick_res,
                                brick_res])

    return StabilityModel(
        n_bricks=n, blocks=blocks, cost=cost, n_eq=n_eq, n_ub=n_p,
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
    linear pressure ``p = F/k + a*dx + b*dy`` (the exact least-norm split; linear in the brick's
    load ``(F, Mx, My)``, so ``p = u*F + v*Mx + w*My`` with per-point coefficients). Where that goes
    negative somewhere it tries a non-negative least-squares split; a resultant outside the hull of
    the supports (or a brick with nothing below) means the component needs the LP.
    """
    n = m.n_bricks
    x = np.zeros(m.n_vars)
    held = np.ones(m.n_components, dtype=bool)
    if n == 0:
        return x, held
    up = m.point_upper
    count = np.bincount(up, minlength=n)
    held[m.component[count == 0]] = False  # nothing below: hanging or floating
    if not held.any():
        return x, held
    # A resultant outside the bounding box of a brick's contact points (by more than round-off) is
    # outside their hull: the component fails without a least-squares split. The top layer carries
    # nothing but its own weight, at the centre.
    box = np.full((2, n, 2), np.inf)
    box[1] = -np.inf
    np.minimum.at(box[0], up, m.point_xy)
    np.maximum.at(box[1], up, m.point_xy)
    box[0] -= _OUTSIDE
    box[1] += _OUTSIDE
    z_up = m.brick_z[up]
    top = np.flatnonzero(m.brick_z == z_up.max())
    outside = ((m.brick_center[top] < box[0, top]) | (m.brick_center[top] > box[1, top])).any(axis=1)
    if outside.any():
        held[m.component[top[outside]]] = False
        if not held.any():
            return x, held
    order = np.argsort(-z_up, kind="stable")  # points grouped by layer, top layer first
    bounds = [0, *np.cumsum(np.bincount(z_up)[::-1]).tolist()]  # empty layers included
    up_o, xy_o = up[order], m.point_xy[order]
    below_o = np.where(m.point_lower >= 0, m.point_lower, n)[order]
    load = np.zeros((n + 1, 3))  # (F, Mx, My) per brick, row n: the ground
    load[:n, 0] = m.eq_rhs[FZ::N_EQ]  # weight in gram-force, acting at the centre
    load[:n, 1:] = load[:n, :1] * m.brick_center
    press_o = np.zeros(up.size)
    # Most components that need the LP fail in the top layer: its coefficients come first, those
    # of the other layers only if it holds.
    coef_o, mean, d_o = _press_coefficients(up_o[: bounds[1]], xy_o[: bounds[1]], n)
    for start, stop in pairwise(bounds):
        if not held.any():
            break
        if start == stop:
            continue
        if start == bounds[1]:
            rest = _press_coefficients(up_o[start:], xy_o[start:], n)
            coef_o = np.concatenate([coef_o, rest[0]])
            mean += rest[1]  # the two sets of bricks are disjoint
            d_o = np.concatenate([d_o, rest[2]])
        b = up_o[start:stop]
        p = (coef_o[start:stop] * load[b]).sum(axis=1)
        if p.min() < 0.0:
            for brick in set(b[p < 0.0].tolist()):
                if not held[m.component[brick]]:
                    continue
                f, mx, my = load[brick]
                if f > 0.0 and not (box[0, brick, 0] <= mx / f <= box[1, brick, 0]
                                    and box[0, brick, 1] <= my / f <= box[1, brick, 1]):
                    held[m.component[brick]] = False
                    continue
                sel = start + np.flatnonzero(b == brick)
                want = np.array([f, mx - f * mean[brick, 0], my - f * mean[brick, 1]])
                sol, res = nnls(np.stack([np.ones(sel.size), d_o[sel, 0], d_o[sel, 1]]), want)
                if res > rel_tol * (np.abs(want).sum() + 1.0):
                    held[m.component[brick]] = False
                else:
                    p[sel - start] = sol
        press_o[start:stop] = p
        transmitted = np.empty((stop - start, 3))  # (1, x, y) * p to the brick below
        transmitted[:, 0] = p
        transmitted[:, 1:] = xy_o[start:stop] * p[:, None]
        np.add.at(load, below_o[start:stop], transmitted)

    ok = held[m.component[up_o]]
    x[m.blocks["press"].start + order[ok]] = press_o[ok]
    return x, held


def _press_coefficients(up: np.ndarray, xy: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For contact points ``xy`` under bricks ``up`` (every point of those bricks): ``(coef, mean,
    d)``, the linear pressure ``p = coef . (F, Mx, My)`` of ``press_only_solution``, the (N, 2) mean
    point of each brick (0 for the others) and each point's offset from its brick's mean."""
    count = np.maximum(np.bincount(up, minlength=n), 1).astype(float)
    mean = np.stack([np.bincount(up, xy[:, 0], n), np.bincount(up, xy[:, 1], n)], axis=1) / count[:, None]
    d = xy - mean[up]
    dx, dy = d[:, 0], d[:, 1]
    sxx = np.bincount(up, dx * dx, n)
    sxy = np.bincount(up, dx * dy, n)
    syy = np.bincount(up, dy * dy, n)
    det = (sxx * syy - sxy * sxy)[up]  # > 0: every contact pattern is 2-D
    # p = F/k + a dx + c dy with (a, c) the solution of the 2x2 moment system about the mean.
    coef = np.empty((up.size, 3))
    coef[:, 1] = (dx * syy[up] - dy * sxy[up]) / det
    coef[:, 2] = (dy * sxx[up] - dx * sxy[up]) / det
    coef[:, 0] = 1.0 / count[up] - coef[:, 1] * mean[up, 0] - coef[:, 2] * mean[up, 1]
    return coef, mean, d
