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
  ``StabilityModel._face_weights``; the ground has no equations). Knob forces are free and cost
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

**Components.** Bricks that touch neither through studs nor sides (the ground is fixed, not a
node) form independent LPs (:attr:`StabilityModel.component`); ``stability.press_only_solution``
holds whole components without an LP where it can.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property, partial

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import splu

from brickfield.lego.grid import LayerContacts, Occupancy, contact_graphs, contact_points

# Row layout of each brick's five balance equations.
FX, FY, FZ, TAU1, TAU2 = range(5)
N_EQ = 5


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
            nonneg = (self.lower == 0.0).nonzero()[0]
            rows = np.concatenate([rows, n_rows + np.arange(nonneg.size)])
            cols = np.concatenate([cols, nonneg])
            vals = np.concatenate([vals, np.zeros(nonneg.size) - 1.0])
            n_rows += nonneg.size
        key = cols * n_rows + rows
        order = key.argsort(kind="stable")
        key = key[order]
        start = np.concatenate([[True], key[1:] != key[:-1]]).nonzero()[0] if key.size else order
        data = np.add.reduceat(vals[order], start) if key.size else vals
        # A side push enters its bricks' top-face rows as 0.5 - arm/(2 arm): drop such round-off
        # (every true coefficient is >= 1e-3).
        keep = np.abs(data) >= 1e-12
        key = key[start[keep]]
        col, row = np.divmod(key, n_rows)
        indptr = np.zeros(self.n_vars + 1, dtype=np.int64)
        np.bincount(col, minlength=self.n_vars).cumsum(out=indptr[1:])
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

    Constraints, as COO triplets (``triplets`` = ``rows``, ``cols``, ``vals``, built on first use: the
    analysis itself only needs the LP, :meth:`linear_program`): rows ``0 .. n_eq-1`` are the balance
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
    lp_columns: np.ndarray  # bool per variable: an LP column (else redundant, or a knob force)
    knob_basis: np.ndarray  # bool per knob pair: in the spanning forest (the others stay 0)
    face_tree: np.ndarray  # (2N,) tree of each bottom face (0..N-1) and top face; -1 = grounded
    arm: float  # half the brick height in studs (lever of the horizontal forces)
    _lp_rows: tuple | None = field(default=None, init=False, repr=False)
    _knob_solve: object = field(default=None, init=False, repr=False)

    @cached_property
    def lower_bounds(self) -> np.ndarray:
        """Lower bound of every variable: 0, or -inf for the (free) knob forces."""
        lower = np.zeros(self.n_vars)
        lower[self.blocks["knob_x"].start:self.blocks["knob_y"].stop] = -np.inf
        return lower

    @cached_property
    def var_brick(self) -> np.ndarray:
        """The brick each variable belongs to (its component owns it)."""
        brick_res = np.repeat(np.arange(self.n_bricks), N_EQ)
        return np.concatenate([self.point_upper, self.point_upper, self.knob_upper, self.knob_upper,
                               self.side_plus, self.max_pull_brick, brick_res, brick_res])

    @cached_property
    def triplets(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The constraints as COO triplets ``(rows, cols, vals)`` (see the class docstring)."""
        return _model_triplets(self)

    rows = property(lambda self: self.triplets[0])
    cols = property(lambda self: self.triplets[1])
    vals = property(lambda self: self.triplets[2])

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

    def _projected_rows(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Triplets (rows, cols, vals; duplicates to be summed) of the LP's constraint rows over the
        LP columns (``lp_columns``, model numbering) and the right-hand side (cached).

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
        rows, cols, vals, rhs = self._projected_rows()
        n_proj = rhs.size
        col_keep = self.lp_columns if bricks is None else self.lp_columns & bricks[self.var_brick]
        columns = col_keep.nonzero()[0]
        col_new = col_keep.cumsum() - 1
        if bricks is None:  # every row; the triplets hold LP columns only
            return LinearProgram(cost=self.cost[columns], b_eq=rhs, lower=np.zeros(columns.size),
                                 n_ub=self.n_points, rows=rows, cols=col_new[cols], vals=vals,
                                 columns=columns)
        # The brick of every row: Fz rows, then the x and y rows of each tree, then the max-pull rows.
        faces = np.flatnonzero(self.face_tree >= 0)
        tree_brick = np.zeros(self.n_trees, dtype=np.int64)
        tree_brick[self.face_tree[faces]] = faces % self.n_bricks
        row_brick = np.concatenate([np.arange(self.n_bricks), tree_brick, tree_brick, self.point_upper])
        row_keep = bricks[row_brick]
        row_new = np.cumsum(row_keep) - 1
        sel = col_keep[cols] & row_keep[rows]
        return LinearProgram(cost=self.cost[columns], b_eq=rhs[row_keep[:n_proj]],
                             lower=np.zeros(columns.size), n_ub=int(row_keep[n_proj:].sum()),
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
        return self._si(self._balance(x, forces_only=True))

    def _si(self, r: np.ndarray) -> np.ndarray:
        r *= self.force_unit
        r[:, TAU1:] *= self.stud_pitch
        return r

    def residual_imbalance(self, x: np.ndarray) -> np.ndarray:
        """(N, 5) signed residual of each balance equation in SI units, read from the residual
        variables ``res_pos - res_neg``. Equals :meth:`imbalance` when the knob forces of ``x``
        are those of :meth:`with_knob_forces` (the face balances then hold exactly), up to the LP's
        feasibility tolerance (~1e-11 N); the analysis reads this one, which needs no knob forces."""
        return self._si((x[self.blocks["res_pos"]] - x[self.blocks["res_neg"]]).reshape(self.n_bricks, N_EQ))

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


# Row kinds of the vertical point triplets: press then pull, each on (Fz, tau1, tau2).
_POINT_KINDS = np.array([FZ, TAU1, TAU2, FZ, TAU1, TAU2])[:, None]
# Row kinds of the knob triplets (columns knob_x, knob_y, knob_x, knob_y).
_KNOB_KINDS = np.array([FX, FY, TAU2, TAU1])[:, None]
_PLUS_MINUS = np.array([[1.0, -1.0]])
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
    brick_rows = np.empty((n, 5), dtype=np.int64)
    brick_rows[:, 0] = np.arange(n)
    brick_rows[:, 1:3] = np.where(face >= 0, n + face, -1)
    brick_rows[:, 3:] = np.where(face >= 0, n + t + face, -1)

    # Vertical points: sign * (1, dy, -dx) on (Fz, tau1, tau2), sign +1 for the press on the upper
    # brick (every point), -1 on the lower one (points not on the ground); a pull is the negative.
    pts = np.concatenate([np.arange(n_p), (p_lo >= 0).nonzero()[0]])
    brick = np.concatenate([p_up, p_lo[pts[n_p:]]])
    d = m.point_xy[pts] - m.brick_center[brick]
    d *= lever
    d[n_p:] *= -1.0
    vals = np.empty((pts.size, 5))
    vals[:n_p, 0] = 1.0
    vals[n_p:, 0] = -1.0
    vals[:, 1::2] = d  # bottom-face rows: lever * sign * (dx, dy)
    vals[:, 2::2] = -d  # top-face rows
    rows = brick_rows[brick]
    cols = pts.repeat(5).reshape(-1, 5)
    press = m.lp_columns[blocks["press"].start + pts]  # presses at hull vertices only
    parts = [(rows[press], blocks["press"].start + cols[press], vals[press]),
             (rows, blocks["pull"].start + cols, -vals)]

    # Side pushes: sign * (1, arm) on (Fx, -tau2) or (Fy, tau1): 1/2 + arm*lever on the bottom-face
    # row and 1/2 - arm*lever (round-off) on the top-face row of the push's axis.
    sides = m.lp_columns[blocks["side"]].nonzero()[0]
    if sides.size:
        first_row = (n + t * m.side_axis[sides])[:, None]  # of the push's axis
        cols = (blocks["side"].start + sides).repeat(4)
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
    ub_cols[:, 0] = np.arange(blocks["pull"].start, blocks["pull"].stop)
    ub_cols[:, 1] = blocks["max_pull"].start + m.max_pull_brick.searchsorted(p_up)
    parts.append((np.arange(n_proj, n_proj + n_p).repeat(2), ub_cols, _PLUS_MINUS.repeat(n_p, axis=0)))

    rows = np.concatenate([p[0].reshape(-1) for p in parts])
    keep = rows >= 0
    rhs = np.zeros(n_proj)
    rhs[:n] = m.eq_rhs[FZ::N_EQ]  # only Fz has a right-hand side (the weight)
    cols = np.concatenate([p[1].reshape(-1) for p in parts])
    vals = np.concatenate([p[2].reshape(-1) for p in parts])
    return rows[keep], cols[keep], vals[keep], rhs


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
    (conn_upper, conn_lower, conn_cell, knob_lower, knob_upper, p_conn, point_xy, hull, side_axis, side_minus,
     side_plus) = contact_points(arr, occ, one_wide)
    n_pairs = knob_lower.size
    n_p = p_conn.size
    p_up = conn_upper[p_conn]
    p_lo = conn_lower[p_conn]

    has_points = np.zeros(n, dtype=bool)
    has_points[p_up] = True
    mp_brick = has_points.nonzero()[0]

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

    # --- redundant columns (module docstring) and independent components -------------------------
    knob_keep, side_keep, face_tree, hops, component = contact_graphs(n, knob_lower, knob_upper, side_minus,
                                                               side_plus)
    lp_columns = ~np.zeros(n_vars, dtype=bool)
    lp_columns[blocks["press"]] = hull
    lp_columns[kx0:blocks["knob_y"].stop] = False  # eliminated: see StabilityModel.linear_program
    lp_columns[blocks["side"]] = side_keep
    # Horizontal force residuals that chains of torque residuals undercut (module docstring).
    undercut = hops * (c.stud_pitch * 2.0 * arm) < 2.0
    lp_columns[res0:].reshape(2, n, N_EQ)[:, undercut, FX:FY + 1] = False

    return StabilityModel(
        n_bricks=n, blocks=blocks, cost=cost, n_eq=n_eq, n_ub=n_p,
        eq_rhs=eq_rhs, force_unit=c.force_unit, stud_pitch=c.stud_pitch, alpha=c.alpha,
        beta=c.beta, brick_center=center, brick_z=arr[:, 4].copy(), component=component,
        point_upper=p_up, point_lower=p_lo, point_xy=point_xy,
        conn_upper=conn_upper, conn_lower=conn_lower, conn_cell=conn_cell,
        knob_upper=knob_upper, knob_lower=knob_lower,
        side_plus=side_plus, side_minus=side_minus, side_axis=side_axis, max_pull_brick=mp_brick,
        lp_columns=lp_columns, knob_basis=knob_keep, face_tree=face_tree, arm=arm,
    )
