"""The refiner's edit language as text: the edit types, the grammar shown to the model and the
tolerant parser (``parse_edits``). Applying edits to a tree is ``agents.edits``, which re-exports
everything here; see its docstring for the semantics (stable order ids within a script).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from brickfield.core.errors import ParseError
from brickfield.machines.design.catalog import BLOCKS

__all__ = ["DEFAULT_EDIT_LIMITS", "EDIT_GRAMMAR", "Add", "Edit", "EditCode", "EditError", "EditLimits",
           "EditScript", "EditStep", "Move", "Remove", "Target", "format_edit", "parse_edits"]


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
    """The line without bullets, numbering, emphasis, backticks and end punctuation, whitespace runs
    collapsed (which also keeps the grammar's adjacent optional-space groups from backtracking)."""
    s = " ".join(line.replace("**", "").replace("`", "").replace("__", "").split())
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
