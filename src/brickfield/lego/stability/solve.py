"""Licence-free per-brick stability scores that reproduce BrickGPT's Gurobi analysis with an open LP.

BrickGPT (and StableLego before it) scores a structure by solving one optimisation over contact
forces: every brick should be in force and torque equilibrium, stud connections can pull (up to a
friction capacity ``T``) or press, neighbours in a layer can push, and the ground holds layer 0.
Imbalance is allowed but penalised, so the optimiser always returns forces; a brick fails when it is
left out of equilibrium or when one of its stud contact points pulls with ``T`` or more.

The model (assembled in :mod:`brickfield.lego.stability.model`) is the reference's with the bilinear
push/pull complementarity dropped; that leaves a pure LP with the same optimum. It is solved with
Clarabel (interior point, default) or HiGHS (dual simplex).

Speed (details and the exactness arguments in :mod:`brickfield.lego.stability.model`): every
connected component (through studs or sides) is an independent LP. A component that press forces
alone can hold is certified optimal with all scores 0 by a vectorised top-down pass, without any LP
(:func:`press_only_solution`; solid blocks, walls, towers: a 1000-brick 20x20x20 solid block in
~15 ms). The others go to the solver as a reduced but equivalent LP: presses only at the
convex-hull vertices of each brick pair's contact points, no redundant side pushes or horizontal
force residuals, and the free knob forces eliminated, which leaves one Fz row per brick plus one
row per knob tree and axis instead of five coupled rows per brick. On one core a random 1000-brick
stack that needs pull forces takes 0.05-0.4 s (sparse, up to 20 layers) or 0.3-0.7 s (a full
20x20 footprint, 20 layers), nearly all of it in Clarabel.

Small structures (fewer than ``grid.SMALL_STRUCTURE`` bricks, e.g. all BrickGPT reference cases)
are bound by fixed costs instead, so their path avoids them: contacts from rectangle tests between
the bricks of nearby layers (no 20^3 grid) and cached per-block contact-point templates, the LP
built directly in its reduced rows and handed to Clarabel as plain lists (its binding converts
numpy arrays element by element), the knob forces recovered only when :attr:`StabilityResult.x` is
read, and the press-only pass rejecting most components at the top layer by a bounding-box test.
On these few-element arrays each numpy call costs 1-3 us, so the hot path also prefers ndarray
methods (``a.nonzero()[0]``, ``a.repeat``, ``a.cumsum``) to numpy's Python-level wrapper functions.
The median reference case takes ~1.1 ms on one core (BrickGPT + Gurobi: 12.7 ms), ~60% of it in
Clarabel's setup and 11-18 interior point iterations.

Score convention (BrickGPT's, not the paper's): per brick, ``1.0`` = failing, otherwise the largest
pull on its bottom contact points divided by ``T``. ``stable`` = no floating brick, no collision and
every score below 1.

Residual tolerance: BrickGPT flags a brick when a residual is ``> 0``, which turns solver round-off
(1e-14 .. 1e-9) into failures. Here a brick is out of equilibrium when a force residual exceeds
``residual_tol`` N or a torque residual exceeds ``residual_tol * stud_pitch`` N*m (i.e. torques are
compared as the force at a one-stud lever). The residuals are read from the LP's residual variables
(they match the forces' imbalance to the solver's tolerance, < 1e-11 N up to 300 bricks). Measured
in those units, real residuals at the optimum are a sizeable fraction of a brick's weight: >= 1.4e-3
N on all 80 reference cases and >= 1e-4 N on random 300..1000-brick towers, while Clarabel's
numerical noise stays below 1e-10 N on the reference cases (gap tolerance 1e-10, feasibility 1e-9)
and below 1e-6 N on those towers. The default ``residual_tol = 1e-5`` N sits in that gap. Values
inside the gap do occur, but only as shares of a degenerate optimum (the brick could carry a full
residual at equal cost, checked by maximising it over the optimal face), where flagging the brick or
not are both optimal answers.

Degenerate optima: when the optimum can leave the residual on any of several bricks, or split a load
over parallel supports in many ways, Clarabel returns a central optimal solution (every candidate
brick carries a share and scores 1), whereas a simplex solver (HiGHS, Gurobi) picks one vertex. The
verdict is the same either way on every reference case; per-brick scores stay inside the range of
scores over all optimal solutions.

Reference quirk kept on purpose: the 3 contact points under a 2-wide brick sit at (+1/8, -1/8),
(-1/4, 0) and (+1/8, +1/8) studs from the stud centre, so the model is mirror-symmetric in y but not
in x (a corner-held 2x6 beam scores 0.877 one way and 0.966 mirrored).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import cache
from itertools import pairwise
from typing import Any, Literal

import numpy as np
from scipy.optimize import nnls

from brickfield.lego.grid import (
    SMALL_STRUCTURE,
    LayerContacts,
    Occupancy,
    floating_mask,
    layer_contacts,
    occupancy,
)
from brickfield.lego.library import BRICK_TYPES
from brickfield.lego.stability.model import (
    FZ,
    N_EQ,
    LinearProgram,
    ModelConstants,
    StabilityModel,
    build_model,
)
from brickfield.lego.structure import Structure

SolverName = Literal["clarabel", "highs"]

#: ``StabilityResult.solver`` when no LP was needed (every component held by press alone).
PRESS_ONLY = "press-only"

#: Clarabel minimises this multiple of the cost (see _solve_clarabel).
_CLARABEL_COST_SCALE = 100.0

#: Components with fewer bricks than this that need the LP are solved together in one.
_SMALL_COMPONENT = 50

#: Order in which failure kinds are listed (most fundamental first).
FAIL_KINDS: tuple[str, ...] = ("collision", "floating", "residual", "capacity")


@dataclass(frozen=True)
class StabilityConfig:
    """Constants and solver options of the stability analysis (defaults = BrickGPT's).

    Attributes:
        g: gravity, m/s^2.
        capacity_g: friction capacity of one stud contact point in grams; ``T = capacity_g/1000*g`` N.
        stud_pitch: stud pitch ``L`` in m (lever arm unit).
        brick_height: brick height ``H`` in m (horizontal forces act at ``H/2``).
        alpha: weight of the per-brick maximum pull in the objective.
        beta: weight of the total pull in the objective.
        residual_tol: a brick is out of equilibrium when a force residual exceeds this many N or a
            torque residual exceeds ``residual_tol * stud_pitch`` N*m (see the module docstring
            for why 1e-5 and not BrickGPT's ``> 0``).
        solver: ``"clarabel"`` (interior point, fastest) or ``"highs"`` (simplex, vertex solutions).
        solver_tol: Clarabel's gap tolerances (absolute and relative; the model is in O(1) scaled
            units).
        solver_feas_tol: Clarabel's primal/dual feasibility tolerance. Without iterative
            refinement the dual residual of large models levels off near 1e-10, so asking for 1e-10
            can stall until the iteration limit (a 1000-brick stack: 200 iterations, then the
            fallback); 1e-9 stops there with the same solution (scores within 1e-7 on most
            structures, residual noise < 1e-8 N against the 1e-5 N ``residual_tol``).
        fallback: retry with the other solver when the first one does not reach an optimum.
        max_bricks: structures with more bricks are refused with ``ValueError``.
        press_only_shortcut: skip the LP for every component that press forces alone can hold
            (an exact optimum with all scores 0, see ``press_only_solution``);
            ``False`` solves every component with the LP solver.
    """

    g: float = 9.8
    capacity_g: float = 100.0
    stud_pitch: float = 0.0078
    brick_height: float = 0.0096
    alpha: float = 1e-3
    beta: float = 1e-6
    residual_tol: float = 1e-5
    solver: SolverName = "clarabel"
    solver_tol: float = 1e-10
    solver_feas_tol: float = 1e-9
    fallback: bool = True
    max_bricks: int = 10_000
    press_only_shortcut: bool = True

    @property
    def capacity(self) -> float:
        """Pull capacity ``T`` of one contact point in N."""
        return self.capacity_g / 1000.0 * self.g

    def constants(self) -> ModelConstants:
        """The physical constants the LP assembly needs."""
        return ModelConstants(g=self.g, stud_pitch=self.stud_pitch, brick_height=self.brick_height,
                              alpha=self.alpha, beta=self.beta)


@dataclass
class StabilityResult:
    """Outcome of :func:`analyze_stability`. Arrays are per brick, in structure order.

    Attributes:
        scores: BrickGPT scores: 1.0 = failing, else ``max_pull / T``. All 1.0 when no forces could
            be computed (``status`` is ``"collision"`` or ``"solver_error: ..."``), as BrickGPT does.
        stable: no floating brick, no collision, solved, and every score < 1.
        status: ``"optimal"``, ``"optimal_inaccurate"`` (only a reduced-accuracy solve was
            available; scores computed as usual), ``"empty"``, ``"collision"`` or
            ``"solver_error: <solver> <detail>"``.
        max_pull: largest pull on the brick's bottom contact points, N (NaN if not solved).
        residuals: sum of the five absolute equilibrium residuals, N and N*m (NaN if not solved).
        floating: BrickGPT's floating test (z > 0, nothing directly below or above).
        fail_kind: per brick ``""`` or the first of ``FAIL_KINDS`` that applies.
        fail_kinds: every failure kind present in the structure, in ``FAIL_KINDS`` order.
        objective: reference objective value at the solution (SI units; NaN if not solved).
        solver: the LP solver(s) that produced the solution (``"clarabel"``, ``"highs"``, or both
            joined by ``+`` when components fell back differently), ``"press-only"`` when every
            component was held by press forces alone, ``""`` if nothing ran.
        seconds: wall time of the whole analysis (model build + solve + scoring).
        capacity: ``T`` in N.
        x: raw solution vector in the model's scaled units (None if not solved). The knob forces,
            which the LP eliminates, are recovered on first access (``StabilityModel.with_knob_forces``).
        model: the assembled LP with its variable index map (None if not built).
    """

    scores: np.ndarray
    stable: bool
    status: str
    max_pull: np.ndarray
    residuals: np.ndarray
    floating: np.ndarray
    fail_kind: list[str]
    fail_kinds: tuple[str, ...]
    objective: float
    solver: str
    seconds: float
    capacity: float
    model: StabilityModel | None = field(default=None, repr=False)
    _x: np.ndarray | None = field(default=None, repr=False)
    _knobs_pending: bool = field(default=False, repr=False)

    @property
    def x(self) -> np.ndarray | None:
        """Raw solution vector, knob forces included (see the class docstring)."""
        if self._knobs_pending and self.model is not None and self._x is not None:
            self._x = self.model.with_knob_forces(self._x)
            self._knobs_pending = False
        return self._x

    @property
    def max_score(self) -> float:
        """Largest score (0.0 for an empty structure)."""
        return float(self.scores.max()) if self.scores.size else 0.0

    def forces(self) -> dict[str, np.ndarray]:
        """Named force arrays in SI units (pull/press per contact point, knob and side forces, the
        signed (N, 5) residual per brick ...); empty when nothing was solved."""
        if self.model is None or self.x is None:
            return {}
        return self.model.named_forces(self.x)

    def to_dict(self, include_forces: bool = False) -> dict[str, Any]:
        """JSON-serialisable summary (NaN becomes None; the wall-clock ``seconds`` is left out so the
        record is deterministic)."""

        def clean(a: np.ndarray) -> list[Any]:
            return [None if isinstance(v, float) and not np.isfinite(v) else v for v in a.tolist()]

        out: dict[str, Any] = {
            "scores": clean(self.scores),
            "stable": bool(self.stable),
            "status": self.status,
            "max_score": self.max_score,
            "max_pull": clean(self.max_pull),
            "residuals": clean(self.residuals),
            "floating": [bool(v) for v in self.floating],
            "fail_kind": list(self.fail_kind),
            "fail_kinds": list(self.fail_kinds),
            "objective": None if not np.isfinite(self.objective) else float(self.objective),
            "solver": self.solver,
            "capacity": float(self.capacity),
        }
        if include_forces:
            out["forces"] = {k: clean(v) if v.ndim <= 1 else [clean(row) for row in v]
                             for k, v in self.forces().items()}
        return out


# ---------------------------------------------------------------------------------------------------
# solvers


@dataclass
class _Solution:
    ok: bool  # reached an optimum at the requested accuracy
    x: np.ndarray | None  # also set for a solve that ended at reduced accuracy
    detail: str
    solver: str


@dataclass(frozen=True)
class _Csc:
    """A CSC matrix as Clarabel's Python binding reads it (attributes ``data``, ``indices``,
    ``indptr``, ``nnz``, ``shape``): plain lists convert to Rust vectors several times faster than
    numpy arrays (which go element by element through numpy scalars)."""

    data: list[float]
    indices: list[int]
    indptr: list[int]
    nnz: int
    shape: tuple[int, int]
    has_canonical_format: bool = True


@cache
def _clarabel_settings(tol: float, feas_tol: float) -> Any:
    import clarabel

    settings = clarabel.DefaultSettings()
    settings.verbose = False
    settings.max_threads = 1  # deterministic; the problems are too small to gain from threads
    settings.direct_solve_method = "qdldl"  # "auto" picks faer: 10x slower here on one thread
    settings.tol_feas = feas_tol
    settings.tol_gap_abs = tol
    settings.tol_gap_rel = tol
    settings.tol_ktratio = 1e-7
    # Refinement doubled the time without moving the residual noise floor (measured on the
    # reference set and 1000-brick towers); HiGHS is the fallback if a solve ever stalls.
    settings.iterative_refinement_enable = False
    return settings


def _solve_clarabel(m: LinearProgram, tol: float, feas_tol: float | None = None) -> _Solution:
    import clarabel

    n = m.n_vars
    data, indices, indptr, shape = m.csc(bound_rows=True)
    a = _Csc(data.tolist(), indices.tolist(), indptr.tolist(), data.size, shape)
    b = [0.0] * shape[0]
    b[: m.n_eq] = m.b_eq.tolist()
    cones = [clarabel.ZeroConeT(m.n_eq), clarabel.NonnegativeConeT(shape[0] - m.n_eq)]
    # The cost is scaled up (the optimal set is the same): with pulls costing 1e-6 .. 1e-3 per
    # gram-force against loads of 1 .. 1000 g, the unscaled problem took short steps; x100 halves the
    # iterations on random 1000-brick stacks (~80 -> ~40) and lands closer to the exact optimum.
    cost = (_CLARABEL_COST_SCALE * m.cost).tolist()
    p = _Csc([], [], [0] * (n + 1), 0, (n, n))
    settings = _clarabel_settings(tol, tol if feas_tol is None else feas_tol)
    sol = clarabel.DefaultSolver(p, cost, a, b, cones, settings).solve()
    status = str(sol.status)
    x = np.array(sol.x, dtype=float) if status in ("Solved", "AlmostSolved") else None
    return _Solution(status == "Solved", x, status, "clarabel")


def _solve_highs(m: LinearProgram) -> _Solution:
    import highspy

    data, indices, indptr, shape = m.csc()
    inf = highspy.kHighsInf
    lp = highspy.HighsLp()
    lp.num_col_ = m.n_vars
    lp.num_row_ = shape[0]
    lp.col_cost_ = m.cost
    lp.col_lower_ = m.lower
    lp.col_upper_ = np.full(m.n_vars, inf)
    lp.row_lower_ = np.concatenate([m.b_eq, np.full(m.n_ub, -inf)])
    lp.row_upper_ = np.concatenate([m.b_eq, np.zeros(m.n_ub)])
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = indptr
    lp.a_matrix_.index_ = indices
    lp.a_matrix_.value_ = data
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", 1)
    h.passModel(lp)
    h.run()
    status = h.getModelStatus()
    ok = status == highspy.HighsModelStatus.kOptimal
    x = np.asarray(h.getSolution().col_value, dtype=float) if ok else None
    return _Solution(ok, x, h.modelStatusToString(status), "highs")


def _solve(m: LinearProgram, cfg: StabilityConfig) -> _Solution:
    """Solve with the configured solver, then (``cfg.fallback``) the other one. A solution at
    reduced accuracy is used only when no solver reaches a full optimum."""
    order = [cfg.solver] + ([s for s in ("clarabel", "highs") if s != cfg.solver] if cfg.fallback else [])
    tried: list[_Solution] = []
    for name in order:
        try:
            if name == "clarabel":
                sol = _solve_clarabel(m, cfg.solver_tol, cfg.solver_feas_tol)
            else:
                sol = _solve_highs(m)
        except Exception as exc:  # a solver crash must not take a batch evaluation down
            sol = _Solution(False, None, f"{type(exc).__name__}: {exc}", name)
        if sol.ok:
            return sol
        tried.append(sol)
    return next((t for t in tried if t.x is not None), tried[0])


# ---------------------------------------------------------------------------------------------------
# analysis


#: Mass in kg of every library footprint, both orientations.
_MASS_KG: dict[tuple[int, int], float] = {
    dims: t.mass_kg for t in BRICK_TYPES for dims in ((t.short, t.long), (t.long, t.short))}


def _validate(structure: Structure, cfg: StabilityConfig) -> tuple[np.ndarray, list[tuple[int, ...]]]:
    """Masses (kg) and (h, w, x, y, z) of every brick, after the checks ``analyze_stability``
    documents."""
    n = len(structure)
    if n > cfg.max_bricks:
        raise ValueError(f"structure has {n} bricks, over the stability limit of {cfg.max_bricks}")
    bricks = [(b.h, b.w, b.x, b.y, b.z) for b in structure.bricks]
    masses = [_MASS_KG.get((b[0], b[1]), np.nan) for b in bricks]
    bad = [i for i, m in enumerate(masses) if m != m]  # NaN
    if bad:
        listed = ", ".join(f"#{i} {structure[i].to_text()}" for i in bad[:5])
        raise ValueError(f"bricks not in the library (check the library first): {listed}")
    dx, dy, dz = structure.world_dim
    out = [i for i, (h, w, x, y, z) in enumerate(bricks)
           if not (x >= 0 and y >= 0 and 0 <= z < dz and x + h <= dx and y + w <= dy and h > 0 and w > 0)]
    if out:
        listed = ", ".join(f"#{i} {structure[i].to_text()}" for i in out[:5])
        raise ValueError(f"bricks outside the {structure.world_dim} world (check bounds first): {listed}")
    return np.array(masses, dtype=float), bricks


def _unsolved(n: int, status: str, floating: np.ndarray, kinds: list[str], cfg: StabilityConfig,
              t0: float, solver: str = "", model: StabilityModel | None = None) -> StabilityResult:
    present = tuple(k for k in FAIL_KINDS if k in kinds or (k == "floating" and floating.any()))
    return StabilityResult(
        scores=np.ones(n), stable=False, status=status, max_pull=np.full(n, np.nan),
        residuals=np.full(n, np.nan), floating=floating, fail_kind=kinds, fail_kinds=present,
        objective=float("nan"), solver=solver, seconds=time.perf_counter() - t0,
        capacity=cfg.capacity, model=model)


def _collision_members(occ: Occupancy, n: int) -> np.ndarray:
    hit = occ.colliding.copy()
    for a, b in occ.collision_pairs:
        hit[a] = hit[b] = True
    return hit[:n]


def _lp_groups(model: StabilityModel, held: np.ndarray) -> list[np.ndarray | None]:
    """Brick masks of the LPs to solve (``None`` = the whole model): every component that press
    alone cannot hold gets its own LP, except that the small ones share one (block-diagonal, so
    the optimum and the interior point limit are the same; it saves a solver call per component)."""
    todo = (~held).nonzero()[0]
    if held.size == 1 and todo.size == 1:
        return [None]
    size = np.bincount(model.component, minlength=held.size)
    small = todo[size[todo] < _SMALL_COMPONENT]
    groups = [np.isin(model.component, small)] if small.size else []
    return groups + [model.component == c for c in todo[size[todo] >= _SMALL_COMPONENT]]


# Margin (studs) of the bounding-box test in ``press_only_solution``: a resultant this far outside
# the box is far outside the hull for the least-squares test too (its residual would be > 1e-8 f).
_OUTSIDE = 1e-6


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
    held = ~np.zeros(m.n_components, dtype=bool)
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
    box = np.empty((2, n, 2))
    box[0] = np.inf
    box[1] = -np.inf
    np.minimum.at(box[0], up, m.point_xy)
    np.maximum.at(box[1], up, m.point_xy)
    box[0] -= _OUTSIDE
    box[1] += _OUTSIDE
    z_up = m.brick_z[up]
    top = (m.brick_z == z_up.max()).nonzero()[0]
    outside = ((m.brick_center[top] < box[0, top]) | (m.brick_center[top] > box[1, top])).any(axis=1)
    if outside.any():
        held[m.component[top[outside]]] = False
        if not held.any():
            return x, held
    order = (-z_up).argsort(kind="stable")  # points grouped by layer, top layer first
    bounds = [0, *np.bincount(z_up)[::-1].cumsum().tolist()]  # empty layers included
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
                sel = start + (b == brick).nonzero()[0]
                want = np.array([f, mx - f * mean[brick, 0], my - f * mean[brick, 1]])
                lever = np.empty((3, sel.size))
                lever[0] = 1.0
                lever[1:] = d_o[sel].T
                sol, res = nnls(lever, want)
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
    mean = np.empty((n, 2))
    mean[:, 0] = np.bincount(up, xy[:, 0], n)
    mean[:, 1] = np.bincount(up, xy[:, 1], n)
    mean /= count[:, None]
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


def analyze_stability(structure: Structure, config: StabilityConfig | None = None) -> StabilityResult:
    """Per-brick stability scores of ``structure`` with BrickGPT's semantics.

    Raises ``ValueError`` for bricks not in the library, bricks outside the world grid, or more
    than ``config.max_bricks`` bricks. Collisions are not analysed (BrickGPT refuses them too): the
    result has status ``"collision"``, all scores 1.0 and ``stable=False``.
    """
    cfg = config or StabilityConfig()
    t0 = time.perf_counter()
    masses, bricks = _validate(structure, cfg)
    n = len(structure)
    if n == 0:
        empty = np.zeros(0)
        return StabilityResult(
            scores=empty, stable=True, status="empty", max_pull=empty, residuals=empty,
            floating=np.zeros(0, dtype=bool), fail_kind=[], fail_kinds=(), objective=0.0, solver="",
            seconds=time.perf_counter() - t0, capacity=cfg.capacity)

    if n < SMALL_STRUCTURE:  # rectangle tests between the bricks of nearby layers, no grid
        occ: Occupancy | LayerContacts = layer_contacts(bricks)
        floating, hit = occ.floating, occ.overlapping
    else:
        occ = occupancy(structure)
        floating = floating_mask(structure, occ)
        hit = _collision_members(occ, n) if occ.colliding.any() else occ.colliding
    if hit.any():
        kinds = ["collision" if hit[i] else ("floating" if floating[i] else "") for i in range(n)]
        return _unsolved(n, "collision", floating, kinds, cfg, t0)

    model = build_model(np.array(bricks, dtype=np.int64), masses, occ, cfg.constants())
    if cfg.press_only_shortcut:
        x, held = press_only_solution(model)
    else:
        x, held = np.zeros(model.n_vars), np.zeros(model.n_components, dtype=bool)
    solvers: list[str] = []
    accurate = True
    for group in _lp_groups(model, held):
        lp = model.linear_program(group)
        sol = _solve(lp, cfg)
        if sol.x is None:
            kinds = ["floating" if f else "" for f in floating]
            return _unsolved(n, f"solver_error: {sol.solver} {sol.detail}", floating, kinds, cfg, t0,
                             sol.solver, model)
        x[lp.columns] = sol.x
        accurate &= sol.ok
        if sol.solver not in solvers:
            solvers.append(sol.solver)
    imb = model.residual_imbalance(x)
    abs_imb = np.abs(imb)
    tol = cfg.residual_tol
    out_of_balance = (abs_imb[:, :3].max(axis=1) > tol) | (abs_imb[:, 3:].max(axis=1) > tol * cfg.stud_pitch)
    max_pull = model.max_pull(x)
    over = max_pull >= cfg.capacity
    scores = np.where(out_of_balance | over, 1.0, max_pull / cfg.capacity)

    flags = floating.tolist(), out_of_balance.tolist(), over.tolist()
    fail_kind = ["floating" if f else "residual" if r else "capacity" if c else ""
                 for f, r, c in zip(*flags, strict=True)]
    fail_kinds = tuple(k for k, flag in zip(FAIL_KINDS[1:], flags, strict=True) if any(flag))
    residuals = abs_imb.sum(axis=1)
    stable = bool(not flags[0].count(True) and scores.max() < 1.0)
    return StabilityResult(
        scores=scores, stable=stable, status="optimal" if accurate else "optimal_inaccurate",
        max_pull=max_pull, residuals=residuals, floating=floating, fail_kind=fail_kind, fail_kinds=fail_kinds,
        objective=model.objective(x, imb, max_pull), solver="+".join(solvers) or PRESS_ONLY,
        seconds=time.perf_counter() - t0, capacity=cfg.capacity, model=model, _x=x,
        _knobs_pending=bool(solvers))


__all__ = ["FAIL_KINDS", "StabilityConfig", "StabilityResult", "analyze_stability"]
