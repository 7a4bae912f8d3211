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
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from brickfield.core.errors import BrickfieldError, ParseError
from brickfield.machines.design.catalog import BLOCKS, LINEAR_TYPES
from brickfield.machines.design.placement import layout
from brickfield.machines.design.tree import DEFAULT_LIMITS, ConstructionTree, TreeParseError
from brickfield.machines.design.types import TreeBlock
from brickfield.machines.design.validity import SIZE_LIMITS, SizeLimits, overlap_pairs

__all__ = [
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
    "apply_edits",
    "canonical_tree",
    "format_edit",
    "parse_edits",
]


class EditCode(StrEnum):
    """Stable codes of everything that can be wrong with an edit step."""

    BAD_SYNTAX = "bad_syntax"              # the line is not one of the three forms
    TOO_LARGE = "too_large"                # the text is over the character limit
    TOO_MANY_STEPS = "too_many_steps"      # more steps than the limit; the rest is ignored
    UNKNOWN_TYPE = "unknown_type"          # not a catalog block type
    TYPE_NOT_ALLOWED = "type_not_allowed"  # not among the level's allowed blocks
    ROOT_BLOCK = "root_block"              # adding a Starting Block, removing or moving block 0
    UNKNOWN_BLOCK = "unknown_block"        # no such order id (never existed, removed, or its Add failed)
    BAD_ATTACH_POINT = "bad_attach_point"  # the parent has no attach point with that index
    POINT_OCCUPIED = "point_occupied"      # another block already sits on that attach point
    WRONG_ARITY = "wrong_arity"            # two-point block with one target, or the other way round
    HAS_CHILDREN = "has_children"          # Remove of a block something is attached to
    BAD_MOVE_ORDER = "bad_move_order"      # Move onto a block that does not come before it
    NO_CHANGE = "no_change"                # Move to where the block already is
    TOO_MANY_BLOCKS = "too_many_blocks"    # the machine would exceed the block limit
    SPATIAL = "spatial"                    # the step makes blocks overlap or the machine too large
    INVALID_TREE = "invalid_tree"          # the result fails the file checks


class EditError(ParseError):
    """One failing edit step: ``code`` (an ``EditCode``), ``step`` (0-based index), ``line`` (1-based
    line of the source text, None for edits given as objects), ``text`` (the step as written) and a
    ``message`` meant to be shown to the model."""

    def __init__(self, code: str, message: str, *, step: int | None = None, line: int | None = None,
                 text: str = "") -> None:
        super().__init__(str(code), message, line=line, item=step)
        self.text = text

    @property
    def step(self) -> int | None:
        """0-based index of the failing step."""
        return self.item

    def __reduce__(self) -> tuple[Any, ...]:  # picklable across process pools despite keyword-only args
        return (_rebuild_error, (self.code, self.message, self.item, self.line, self.text))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON record: code, message, step, line, text."""
        return {"code": self.code, "message": self.message, "step": self.item, "line": self.line,
                "text": self.text}


def _rebuild_error(code: str, message: str, step: int | None, line: int | None, text: str) -> EditError:
    return EditError(code, message, step=step, line=line, text=text)


# --- edits ---------------------------------------------------------------------------------------

Target = tuple[int, int]
"""(parent order_id, attach point index)."""


@dataclass(frozen=True)
class Add:
    """Add a block of ``type_id`` on one target (two for two-point blocks)."""

    type_id: str
    targets: tuple[Target, ...]

    def to_text(self) -> str:
        """Canonical form, e.g. ``Add [63] to [0] in [1]``."""
        return f"Add [{self.type_id}]" + _targets_text(self.targets)


@dataclass(frozen=True)
class Remove:
    """Remove block ``order_id`` (nothing may be attached to it)."""

    order_id: int

    def to_text(self) -> str:
        """Canonical form, e.g. ``Remove [5]``."""
        return f"Remove [{self.order_id}]"


@dataclass(frozen=True)
class Move:
    """Re-attach block ``order_id`` (and what hangs from it) to new targets that come before it."""

    order_id: int
    targets: tuple[Target, ...]

    def to_text(self) -> str:
        """Canonical form, e.g. ``Move [5] to [1] in [3]``."""
        return f"Move [{self.order_id}]" + _targets_text(self.targets)


Edit = Add | Remove | Move


def _targets_text(targets: tuple[Target, ...]) -> str:
    if not isinstance(targets, tuple) or not all(isinstance(t, tuple) and len(t) == 2 for t in targets):
        return f" to {targets!r}"[:200]  # a malformed Edit object: shown as is, refused by apply_edits
    return "".join(f" to [{p}] in [{k}]" for p, k in targets)


def format_edit(edit: Edit) -> str:
    """The canonical one-line text of ``edit`` (``parse_edits`` reads it back to an equal edit)."""
    return edit.to_text()


EDIT_GRAMMAR = """\
Add [type] to [parent] in [point]
    attach a new block of catalog type id [type] to attach point [point] of block [parent]
Add [type] to [parent_a] in [point_a] to [parent_b] in [point_b]
    the same for a two-point block (brace 7, rubber band 9, winch 45): it joins the two points
Remove [order_id]
    remove a block; only blocks with nothing attached to them can be removed
Move [order_id] to [new_parent] in [point]
    re-attach a block, with everything attached to it, to another attach point; [new_parent] must
    have a smaller order_id than the block (two-point blocks: ... to [a] in [pa] to [b] in [pb])
Rules: one step per line, applied in order. Every order_id refers to the machine as given (ids do not
shift while you edit); the k-th Add line creates order_id N+k-1 for a machine of N blocks, and later
lines may use that id. Block 0 (the Starting Block) cannot be removed or moved. Each attach point
holds one block (two-point blocks may share points). The first failing step stops the edit."""
"""The grammar as shown to the refiner (the prompt embeds it; tests keep it parseable)."""


# --- parsing -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class EditLimits:
    """Caps that keep hostile text cheap to read."""

    max_chars: int = 50_000       # whole text
    max_steps: int = 64           # steps read; more is one ``too_many_steps`` error
    max_line_chars: int = 400     # a longer line is a syntax error without being matched


DEFAULT_EDIT_LIMITS = EditLimits()


@dataclass(frozen=True)
class EditStep:
    """One step of a script: the edit, or the syntax error of its line.

    ``verb`` is ``add``, ``remove`` or ``move`` (from the first word; ``""`` when even that is
    unreadable): an unparseable Add line still reserves its order id."""

    index: int
    text: str
    line: int | None
    verb: str
    edit: Edit | None = None
    error: EditError | None = None


@dataclass(frozen=True)
class EditScript:
    """Parsed steps in order; ``source`` says where they were found: ``fence`` (an ```edits block),
    ``section`` (a ``<Modification Steps>`` section), ``lines`` (edit-like lines anywhere),
    ``objects`` (built from ``Edit`` objects) or ``none``."""

    steps: tuple[EditStep, ...]
    source: str = "none"

    @property
    def edits(self) -> tuple[Edit, ...]:
        """The edits of the steps that parsed."""
        return tuple(s.edit for s in self.steps if s.edit is not None)

    @property
    def errors(self) -> tuple[EditError, ...]:
        """Syntax errors, in step order."""
        return tuple(s.error for s in self.steps if s.error is not None)

    def to_text(self) -> str:
        """Canonical text, one step per line (unparseable steps as written)."""
        return "\n".join(s.edit.to_text() if s.edit is not None else s.text for s in self.steps)

    @classmethod
    def from_edits(cls, edits: Iterable[Edit]) -> EditScript:
        """A script of ``Edit`` objects (no source lines)."""
        steps = []
        for i, e in enumerate(edits):
            verb = type(e).__name__.lower() if isinstance(e, (Add, Remove, Move)) else ""
            text = e.to_text() if verb else repr(e)[:200]
            error = None if verb else EditError(EditCode.BAD_SYNTAX, f"not an edit: {text}", step=i,
                                                text=text)
            steps.append(EditStep(i, text, None, verb, e if verb else None, error))
        return cls(tuple(steps), "objects")


_NUM = r"\[?\s*([+-]?[0-9]{1,9})\s*\]?"
_POINT_WORDS = (r"(?:(?:attach(?:ment)?\s+|building[ _]|constructible\s+)?(?:point|bp|bp_id|face|pt)"
                r"\s*(?:#|no\.?)?\s*)?")
_TARGET = rf"(?:block\s+|order_id\s+|#)?{_NUM}\s*(?:in|at|on)\s+{_POINT_WORDS}{_NUM}"
_SECOND = rf"(?:\s*,?\s*(?:to|and)\s+{_TARGET})?"
_TAIL = r"\s*(?:(?:#|//|--|\(|;|:|,|—|–|\s-\s).*)?"
_FLAGS = re.IGNORECASE | re.ASCII
_ADD = re.compile(rf"add\s+(.+?)\s+(?:to|onto|on)\s+{_TARGET}{_SECOND}{_TAIL}", _FLAGS)
_MOVE = re.compile(rf"move\s+(?:block\s+|#)?{_NUM}\s+(?:to|onto|on)\s+{_TARGET}{_SECOND}{_TAIL}", _FLAGS)
_REMOVE = re.compile(rf"(?:remove|delete)\s+(?:block\s+|#)?{_NUM}{_TAIL}", _FLAGS)
_VERB = re.compile(r"(add|remove|delete|move)\b", _FLAGS)
_PREFIX = re.compile(r"^(?:[-*+•>]\s*|\(?[0-9]{1,3}[.):]\s*|step\s*[0-9]{1,3}\s*[:.)-]?\s*)", _FLAGS)
_SECTION = re.compile(r"<\s*modification[ _]steps\s*>(.*?)(?:<\s*/?\s*[A-Za-z][^<>]{0,80}>|\Z)",
                      re.IGNORECASE | re.DOTALL)
_EDIT_TAGS = frozenset({"edits", "edit", "modifications", "modification", "steps"})
_NAMES = {re.sub(r"[^a-z0-9]", "", b.name.lower()): t for t, b in BLOCKS.items()}


def _clean(line: str) -> str:
    """The line without bullets, numbering, emphasis, backticks and end punctuation."""
    s = line.strip().replace("**", "").replace("`", "").replace("__", "")
    for _ in range(3):
        s2 = _PREFIX.sub("", s, count=1).strip()
        if s2 == s:
            break
        s = s2
    return s.rstrip(" .;,")


def _resolve_type(raw: str) -> str:
    """A type id from ``63``, ``[63]``, ``63 (Log)``, ``type 63``, ``Log``, ``powered wheel``..."""
    s = raw.strip().strip("[]'\"").strip()
    m = re.match(r"(?:type\s*|id\s*|block\s*)?([0-9]{1,3}(?:_[0-9])?)(?![0-9])", s, _FLAGS)
    if m:
        return m.group(1)
    key = re.sub(r"[^a-z0-9]", "", re.sub(r"\(.*\)", "", s.lower()))
    return _NAMES.get(key, s[:40])


def _targets(groups: Sequence[str | None]) -> tuple[Target, ...]:
    out = []
    for k in range(0, len(groups), 2):
        if groups[k] is not None and groups[k + 1] is not None:
            out.append((int(groups[k]), int(groups[k + 1])))  # type: ignore[arg-type]
    return tuple(out)


def _parse_line(s: str) -> Edit | None:
    """The edit of a cleaned line, or None when it matches no form."""
    if m := _ADD.fullmatch(s):
        return Add(_resolve_type(m.group(1)), _targets(m.groups()[1:]))
    if m := _MOVE.fullmatch(s):
        return Move(int(m.group(1)), _targets(m.groups()[1:]))
    if m := _REMOVE.fullmatch(s):
        return Remove(int(m.group(1)))
    return None


def _candidate_lines(text: str) -> tuple[list[tuple[int, str]], str]:
    """(1-based line number, raw line) of the lines that hold steps, and where they were found."""
    lines = text.split("\n")
    starts = [i for i, ln in enumerate(lines) if ln.lstrip().startswith("```")]
    fenced: list[tuple[int, str]] = []
    for a, b in zip(starts[::2], starts[1::2], strict=False):  # fences pair up in order
        if lines[a].lstrip()[3:].strip().lower() in _EDIT_TAGS:
            fenced += [(i + 1, lines[i]) for i in range(a + 1, b)]
    if fenced:
        return fenced, "fence"
    m = _SECTION.search(text)
    if m and m.group(1).strip():
        first = text.count("\n", 0, m.start(1)) + 1
        body = [(first + k, ln) for k, ln in enumerate(m.group(1).split("\n"))]
        return [(n, ln) for n, ln in body if not ln.lstrip().startswith("```")], "section"
    picked = [(i + 1, ln) for i, ln in enumerate(lines) if _edit_like(ln)]
    return picked, "lines" if picked else "none"


def _edit_like(line: str) -> bool:
    """Outside fences and sections: a line that parses, or starts with a verb and has a bracket (prose
    such as "Move the log 2 m forward" is skipped, a malformed bracketed step is reported)."""
    if len(line) > DEFAULT_EDIT_LIMITS.max_line_chars:
        return False
    s = _clean(line)
    return bool(_VERB.match(s)) and ("[" in s or _parse_line(s) is not None)


def parse_edits(text: str | bytes, limits: EditLimits = DEFAULT_EDIT_LIMITS) -> EditScript:
    """Read edit steps from model output. Never raises.

    Steps are taken from ```edits fences (also ``edit``, ``modifications``, ``steps``) when there are
    any, else from a ``<Modification Steps>`` section, else from every line that starts (after
    bullets or numbering) with Add/Remove/Delete/Move and holds a digit. Inside a fence or section
    every non-blank line that is not a comment (``#``, ``//``) is a step, so a malformed one is
    reported instead of skipped. Bullets, numbering (``1.``, ``Step 2:``), bold, backticks, case,
    brackets, ``block``/``point`` filler words and trailing comments are tolerated.
    """
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("utf-8", errors="replace")
    if not isinstance(text, str):
        err = EditError(EditCode.BAD_SYNTAX, f"expected text, got {type(text).__name__}", step=0)
        return EditScript((EditStep(0, "", None, "", None, err),), "none")
    if len(text) > limits.max_chars:
        err = EditError(EditCode.TOO_LARGE, f"the edit text is {len(text)} characters, over the limit of "
                        f"{limits.max_chars}", step=0)
        return EditScript((EditStep(0, "", None, "", None, err),), "none")
    lines, source = _candidate_lines(text.replace("\r\n", "\n").replace("\r", "\n"))
    steps: list[EditStep] = []
    for number, raw in lines:
        s = _clean(raw) if len(raw) <= limits.max_line_chars else raw.strip()
        if not s or s.startswith(("#", "//")):
            continue
        k = len(steps)
        if k == limits.max_steps:
            err = EditError(EditCode.TOO_MANY_STEPS, f"more than {limits.max_steps} steps: the rest is "
                            "ignored", step=k, line=number, text=s[:200])
            steps.append(EditStep(k, s[:200], number, "", None, err))
            break
        verb_m = _VERB.match(s)
        verb = "" if verb_m is None else verb_m.group(1).lower().replace("delete", "remove")
        edit = _parse_line(s) if len(raw) <= limits.max_line_chars else None
        error = None
        if edit is None:
            error = EditError(EditCode.BAD_SYNTAX, _syntax_hint(verb, s), step=k, line=number, text=s[:200])
        steps.append(EditStep(k, s[:200], number, verb, edit, error))
    return EditScript(tuple(steps), source)


def _syntax_hint(verb: str, s: str) -> str:
    forms = {"add": "Add [type] to [parent] in [point] (two-point blocks: ... to [a] in [pa] to [b] in [pb])",
             "remove": "Remove [order_id]",
             "move": "Move [order_id] to [new_parent] in [point]"}
    if verb:
        return f"cannot read this {verb.capitalize()} step; write it as {forms[verb]}"
    return ("not an edit step; each line must be one of: " + "; ".join(forms.values()))


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
    return ConstructionTree.from_blocks(blocks, reference_quirks=reference_quirks)


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


def apply_edits(tree: ConstructionTree, edits: str | bytes | EditScript | Iterable[Edit], *,
                stop_on_error: bool = True, spatial: bool = True, reference_quirks: bool = True,
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
    """
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
            tree = ConstructionTree.from_blocks(blocks, reference_quirks=self.quirks)
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
