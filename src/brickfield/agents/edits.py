"""The refiner's edit language: Add / Remove / Move steps, parsed from model text and applied to a
construction tree.

Grammar, one step per line (case-insensitive, brackets optional)::

    Add [type] to [parent] in [point]                                  one-parent blocks
    Add [type] to [parent_a] in [point_a] to [parent_b] in [point_b]   two-point blocks (7, 9, 45)
    Remove [order_id]                                                  nothing may be attached to it
    Move [order_id] to [new_parent] in [point]                         new_parent < order_id
    Move [order_id] to [parent_a] in [point_a] to [parent_b] in [point_b]   (two-point blocks)

``type`` is a catalog type id (``63``) or name (``Log``); ``point`` an attach-point index of the parent.
A moved block takes everything attached to it along.

**Order ids are stable within one script**, as in BesiegeField's refiner: every id refers to the tree
as given (list positions, i.e. the ``order_id`` of a canonical tree, see ``canonical_tree``), and the
k-th Add line (k = 0, 1, ...) creates block ``len(tree) + k`` whether or not it succeeds, so later
lines may build on it. Only after the last step is the tree compacted: removed blocks disappear, order
ids are renumbered 0..n-1 in list order and parent references follow (``EditResult.id_map``).

Every problem is an ``EditError`` (a ``ParseError``) with an ``EditCode``, the step index, the source
line and a message written for the model; ``apply_edits`` stops at the first failing step or goes on
(``stop_on_error``) and reports which steps applied. Parsing and applying never raise on model text.

The edit types, the grammar text and the parser live in ``agents.edit_language`` and are re-exported
here, so ``brickfield.agents.edits`` is the one import a workflow needs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from brickfield.agents.edit_language import (
    DEFAULT_EDIT_LIMITS,
    EDIT_GRAMMAR,
    Add,
    Edit,
    EditCode,
    EditError,
    EditLimits,
    EditScript,
    EditStep,
    Move,
    Remove,
    Target,
    format_edit,
    parse_edits,
)
from brickfield.core.errors import BrickfieldError
from brickfield.machines.design.catalog import BLOCKS, LINEAR_TYPES
from brickfield.machines.design.parse import parse_tree, tree_from_blocks
from brickfield.machines.design.placement import layout
from brickfield.machines.design.tree import DEFAULT_LIMITS, ConstructionTree, TreeParseError
from brickfield.machines.design.types import TreeBlock
from brickfield.machines.design.validity import SIZE_LIMITS, SizeLimits, overlap_pairs

__all__ = [
    "DEFAULT_EDIT_LIMITS",
    "EDIT_GRAMMAR",
    "Add",
    "Edit",
    "EditCode",
    "EditError",
    "EditLimits",
    "EditResult",
    "EditScript",
    "EditStep",
    "Move",
    "Remove",
    "Target",
    "apply_edits",
    "canonical_tree",
    "format_edit",
    "parse_edits",
]


# --- applying ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Slot:
    """A block under stable id: its type, (parent, point) targets and whether it still exists."""

    type_id: str
    targets: tuple[Target, ...]
    alive: bool = True


class _Fail(Exception):
    def __init__(self, code: EditCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def canonical_tree(tree: ConstructionTree, *, reference_quirks: bool = True) -> ConstructionTree:
    """``tree`` with ``order_id`` = list position and parents written as the resolved list positions
    and non-negative attach points: the ids edits refer to. Equal to ``tree`` for any tree written the
    plain way; differs only for reference-mode quirks (gaps in order ids, negative indices)."""
    slots = [_Slot(b.type_id, tree.attachments(i)) for i, b in enumerate(tree.blocks)]
    blocks, _ = _compact(slots)
    return tree_from_blocks(blocks, reference_quirks=reference_quirks)


def _compact(slots: Sequence[_Slot]) -> tuple[list[TreeBlock], dict[int, int]]:
    """TreeBlocks of the live slots, renumbered in order, and the stable-id -> order_id map."""
    id_map: dict[int, int] = {}
    for i, s in enumerate(slots):
        if s.alive:
            id_map[i] = len(id_map)
    blocks = []
    for i, s in enumerate(slots):
        if not s.alive:
            continue
        t = [(id_map[p], k) for p, k in s.targets]
        if not t:
            blocks.append(TreeBlock(s.type_id, id_map[i]))
        elif len(t) == 1:
            blocks.append(TreeBlock(s.type_id, id_map[i], t[0][0], t[0][1]))
        else:
            blocks.append(TreeBlock(s.type_id, id_map[i], t[0][0], t[0][1], t[1][0], t[1][1]))
    return blocks, id_map


@dataclass(frozen=True)
class EditResult:
    """What applying a script did.

    ``tree`` is the edited, compacted tree (the input tree when nothing applied); ``applied``,
    ``skipped`` (not attempted after a failure with ``stop_on_error``) and the steps of ``errors``
    partition the step indices. ``id_map`` maps stable ids (input order ids and the ids of added
    blocks) to order ids in ``tree``; removed blocks are absent from it.
    """

    tree: ConstructionTree
    steps: tuple[EditStep, ...]
    applied: tuple[int, ...]
    errors: tuple[EditError, ...]
    skipped: tuple[int, ...]
    id_map: Mapping[int, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when every step applied."""
        return not self.errors and not self.skipped

    @property
    def changed(self) -> bool:
        """True when at least one step applied."""
        return bool(self.applied)

    def status(self, index: int) -> str:
        """``applied``, ``error`` or ``skipped`` for step ``index``."""
        if index in self.applied:
            return "applied"
        return "skipped" if index in self.skipped else "error"

    def report(self) -> str:
        """One line per step (what a refiner is told about its last edit)."""
        errs = {e.step: e for e in self.errors}
        out = []
        for s in self.steps:
            head = f"{s.index + 1}. {s.edit.to_text() if s.edit is not None else s.text}"
            if s.index in errs:
                out.append(f"{head}: FAILED [{errs[s.index].code}] {errs[s.index].message}")
            elif s.index in self.skipped:
                out.append(f"{head}: not applied (an earlier step failed)")
            else:
                out.append(f"{head}: applied")
        return "\n".join(out) if out else "no edit steps found"

    def to_text(self) -> str:
        """Same as ``report()`` (so prompts can take the result itself)."""
        return self.report()

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON record: tree (JSON list), per-step status, errors, id_map."""
        return {"tree": self.tree.to_json(), "ok": self.ok,
                "steps": [{"index": s.index, "line": s.line, "text": s.text, "status": self.status(s.index)}
                          for s in self.steps],
                "applied": list(self.applied), "skipped": list(self.skipped),
                "errors": [e.to_dict() for e in self.errors],
                "id_map": {str(k): v for k, v in sorted(self.id_map.items())}}


def apply_edits(tree: ConstructionTree | str | Sequence[Any],
                edits: str | bytes | EditScript | Iterable[Edit], *, stop_on_error: bool = True,
                spatial: bool = True, reference_quirks: bool = True,
                allowed_blocks: Iterable[str] | None = None,
                max_blocks: int = DEFAULT_LIMITS.max_blocks) -> EditResult:
    """Apply edit steps (text, a parsed ``EditScript`` or ``Edit`` objects) to ``tree``. Never raises
    on model text.

    Each step is checked (type, ids, attach points, occupancy, leaf-only removal, move order), then
    the whole tree is rebuilt and run through the file checks (``reference_quirks`` selects the mode,
    as in ``parse_tree``); with ``spatial`` a step that creates a new overlap, or pushes a machine
    that fitted over the size limit, fails too (overlaps already in the input are tolerated).
    ``allowed_blocks`` restricts the types an Add may use. A failing step changes nothing; with
    ``stop_on_error`` (default, as BesiegeField) the later steps are skipped.

    ``tree`` may also be tree text or a block list; it is parsed with ``parse_tree`` (a file-invalid
    starting tree raises ``TreeParseError``: it is the workflow's input, not model text).
    """
    if not isinstance(tree, ConstructionTree):
        tree = parse_tree(tree, reference_quirks=reference_quirks)
    script = edits if isinstance(edits, EditScript) else (
        parse_edits(edits) if isinstance(edits, (str, bytes, bytearray)) else EditScript.from_edits(edits))
    run = _Run(tree, reference_quirks, spatial, None if allowed_blocks is None else frozenset(allowed_blocks),
               max_blocks)
    applied: list[int] = []
    errors: list[EditError] = []
    skipped: list[int] = []
    next_add = len(tree)
    for step in script.steps:
        reserved = None
        if step.verb == "add":
            reserved, next_add = next_add, next_add + 1
        if errors and stop_on_error:
            skipped.append(step.index)
            continue
        if step.error is not None:
            errors.append(step.error)
        elif step.edit is not None:
            try:
                run.step(step.edit, reserved)
                applied.append(step.index)
            except _Fail as f:
                errors.append(EditError(f.code, f.message, step=step.index, line=step.line, text=step.text))
        if reserved is not None:
            run.reserve(reserved)
    return EditResult(run.tree, script.steps, tuple(applied), tuple(errors), tuple(skipped),
                      dict(run.id_map))


class _Run:
    """The state of one script: slots under stable ids plus the current compacted tree."""

    def __init__(self, tree: ConstructionTree, quirks: bool, spatial: bool, allowed: frozenset[str] | None,
                 max_blocks: int) -> None:
        self.slots = [_Slot(b.type_id, tree.attachments(i)) for i, b in enumerate(tree.blocks)]
        self.quirks, self.spatial, self.allowed, self.max_blocks = quirks, spatial, allowed, max_blocks
        self.tree = tree
        self.id_map = {i: i for i in range(len(tree))}
        self.shape: _Shape | None = None
        if spatial:
            try:
                self.shape = _spatial_state(tree, self.id_map, quirks)
            except _Fail:  # the input itself cannot be placed: nothing to compare steps against
                self.spatial = False

    def reserve(self, sid: int) -> None:
        """Make sure stable id ``sid`` exists (as a dead slot when its Add failed)."""
        while len(self.slots) <= sid:
            self.slots.append(_Slot("", (), alive=False))

    def step(self, edit: Edit, reserved: int | None) -> None:
        """Check and apply one edit, or raise ``_Fail`` leaving the state unchanged."""
        slots = list(self.slots)
        if isinstance(edit, Add):
            sid = len(self.slots) if reserved is None else reserved
            self.reserve(sid)
            slots = list(self.slots)
            slots[sid] = self._check_add(edit, sid)
        elif isinstance(edit, Remove):
            self._check_remove(edit)
            slots[edit.order_id] = replace(slots[edit.order_id], alive=False)
        elif isinstance(edit, Move):
            slots[edit.order_id] = self._check_move(edit)
        else:
            raise _Fail(EditCode.BAD_SYNTAX, f"not an edit: {edit!r}"[:200])
        self._commit(slots, edit)

    # --- checks ----------------------------------------------------------------------------------
    def _alive(self, sid: Any, what: str = "block") -> _Slot:
        if not isinstance(sid, int) or isinstance(sid, bool):
            raise _Fail(EditCode.BAD_SYNTAX, f"{what} must be an order_id (an integer), not {sid!r}"[:200])
        if 0 <= sid < len(self.slots) and self.slots[sid].alive:
            return self.slots[sid]
        if 0 <= sid < len(self.slots):
            why = "was removed" if self.slots[sid].type_id else "was to be added by an Add step that failed"
            raise _Fail(EditCode.UNKNOWN_BLOCK, f"{what} {sid} {why}")
        last = max(i for i, s in enumerate(self.slots) if s.alive)
        raise _Fail(EditCode.UNKNOWN_BLOCK, f"{what} {sid} does not exist; the machine has order_ids "
                    f"0-{last}")

    def _free_points(self, parent: int, ignore: int | None = None) -> list[int]:
        n = len(BLOCKS[self.slots[parent].type_id].attach_points)
        used = {k for i, s in enumerate(self.slots)
                if s.alive and i != ignore and s.type_id not in LINEAR_TYPES
                for p, k in s.targets if p == parent}
        return [k for k in range(n) if k not in used]

    def _check_target(self, target: Any, solid: bool, moving: int | None = None) -> Target:
        if not (isinstance(target, tuple) and len(target) == 2
                and all(isinstance(v, int) and not isinstance(v, bool) for v in target)):
            raise _Fail(EditCode.BAD_SYNTAX,
                        f"a target must be (parent order_id, attach point), not {target!r}"[:200])
        parent, point = target
        spec = BLOCKS[self._alive(parent, "parent block").type_id]
        name = f"block {parent} ({spec.name})"
        n = len(spec.attach_points)
        if not n:
            raise _Fail(EditCode.BAD_ATTACH_POINT, f"{name} has no attach points: nothing can attach to it")
        free = _ids(self._free_points(parent, moving))
        if not 0 <= point < n:
            raise _Fail(EditCode.BAD_ATTACH_POINT,
                        f"{name} has attach points 0-{n - 1}, not {point}; free: {free}")
        if solid:
            for i, s in enumerate(self.slots):
                if (s.alive and i != moving and s.type_id not in LINEAR_TYPES
                        and (parent, point) in s.targets):
                    raise _Fail(EditCode.POINT_OCCUPIED, f"attach point {point} of {name} already holds "
                                f"block {i} ({BLOCKS[s.type_id].name}); free: {free}")
        return parent, point

    def _check_arity(self, type_id: str, targets: Any) -> tuple[Any, ...]:
        linear = type_id in LINEAR_TYPES
        if not isinstance(targets, tuple) or len(targets) != (2 if linear else 1):
            n = len(targets) if isinstance(targets, tuple) else 0
            need = "two targets (to [a] in [pa] to [b] in [pb])" if linear else "one target (to [p] in [k])"
            raise _Fail(EditCode.WRONG_ARITY, f"{BLOCKS[type_id].name} ({type_id}) needs {need}, got {n}")
        return targets

    def _check_add(self, edit: Add, sid: int) -> _Slot:
        t = edit.type_id
        if not isinstance(t, str) or t not in BLOCKS:
            raise _Fail(EditCode.UNKNOWN_TYPE, f"unknown block type {str(t)[:40]!r}; use a type id from the "
                        "block table")
        if t == "0":
            raise _Fail(EditCode.ROOT_BLOCK, "a machine has one Starting Block (0); it cannot be added")
        if self.allowed is not None and t not in self.allowed:
            raise _Fail(EditCode.TYPE_NOT_ALLOWED, f"{BLOCKS[t].name} ({t}) is not allowed on this level")
        targets = self._check_arity(t, edit.targets)
        if sum(s.alive for s in self.slots) + 1 > self.max_blocks:
            raise _Fail(EditCode.TOO_MANY_BLOCKS, f"the machine would exceed {self.max_blocks} blocks")
        return _Slot(t, tuple(self._check_target(x, t not in LINEAR_TYPES) for x in targets))

    def _check_remove(self, edit: Remove) -> None:
        if edit.order_id == 0:
            raise _Fail(EditCode.ROOT_BLOCK, "the Starting Block (0) cannot be removed")
        slot = self._alive(edit.order_id)
        kids = [i for i, s in enumerate(self.slots)
                if s.alive and any(p == edit.order_id for p, _ in s.targets)]
        if kids:
            raise _Fail(EditCode.HAS_CHILDREN, f"block {edit.order_id} ({BLOCKS[slot.type_id].name}) has "
                        f"blocks attached to it ({_ids(kids)}); remove or move those first")

    def _check_move(self, edit: Move) -> _Slot:
        if edit.order_id == 0:
            raise _Fail(EditCode.ROOT_BLOCK, "the Starting Block (0) cannot be moved")
        slot = self._alive(edit.order_id)
        targets = self._check_arity(slot.type_id, edit.targets)
        for x in targets:
            if isinstance(x, tuple) and x and isinstance(x[0], int) and x[0] >= edit.order_id:
                raise _Fail(EditCode.BAD_MOVE_ORDER, f"block {edit.order_id} can only move onto a block "
                            f"with a smaller order_id, not {x[0]}")
        new = tuple(self._check_target(x, slot.type_id not in LINEAR_TYPES, edit.order_id) for x in targets)
        if new == slot.targets:
            raise _Fail(EditCode.NO_CHANGE, f"block {edit.order_id} is already attached there")
        return _Slot(slot.type_id, new)

    # --- commit ----------------------------------------------------------------------------------
    def _commit(self, slots: list[_Slot], edit: Edit) -> None:
        blocks, id_map = _compact(slots)
        try:
            tree = tree_from_blocks(blocks, reference_quirks=self.quirks)
        except TreeParseError as exc:
            raise _Fail(EditCode.INVALID_TREE, f"the machine would not be valid: {exc.message}") from None
        shape = None
        if self.spatial:
            shape = _spatial_state(tree, id_map, self.quirks)
            assert self.shape is not None
            _check_spatial(self.shape, shape)
        self.slots, self.tree, self.id_map, self.shape = slots, tree, id_map, shape


def _ids(ids: Sequence[int]) -> str:
    return ", ".join(map(str, ids)) if ids else "none"


@dataclass(frozen=True)
class _Shape:
    """Spatial facts of a tree in stable ids: overlapping pairs, size, whether it is over the limit."""

    pairs: frozenset[tuple[int, int]]
    size: tuple[float, float, float]
    too_large: bool
    names: Mapping[int, str]


def _spatial_state(tree: ConstructionTree, id_map: Mapping[int, int], quirks: bool,
                   lim: SizeLimits = SIZE_LIMITS) -> _Shape:
    back = {v: k for k, v in id_map.items()}
    try:
        lay = layout(tree, reference_quirks=quirks)
    except BrickfieldError as exc:  # placement refuses a geometry the file checks let through
        raise _Fail(EditCode.INVALID_TREE, f"the machine cannot be placed: {exc}") from None
    pairs = frozenset((back[i], back[j]) for i, j in overlap_pairs(lay))
    length, width, height = lay.size
    too_large = length > lim.length or width > lim.width or height > lim.height
    names = {back[i]: BLOCKS[b.type_id].name for i, b in enumerate(tree.blocks)}
    return _Shape(pairs, (length, width, height), too_large, names)


def _check_spatial(before: _Shape, after: _Shape) -> None:
    new = sorted(after.pairs - before.pairs)
    if new:
        desc = "; ".join(f"block {a} ({after.names[a]}) and block {b} ({after.names[b]})" for a, b in new[:4])
        more = f" and {len(new) - 4} more pairs" if len(new) > 4 else ""
        raise _Fail(EditCode.SPATIAL, f"blocks would overlap: {desc}{more}")
    if after.too_large and not before.too_large:
        length, width, height = after.size
        lim = SIZE_LIMITS
        raise _Fail(EditCode.SPATIAL, f"the machine would be {length:.2f} m long (z), {width:.2f} m wide "
                    f"(x), {height:.2f} m high (y): over the {lim.length:g} x {lim.width:g} x "
                    f"{lim.height:g} m limit")
