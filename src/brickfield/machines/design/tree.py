"""BesiegeField construction trees: extraction from LLM text, file-validity checks, the tree object.

The format is the JSON list LLMs are prompted to write::

    [{"id": "0", "order_id": 0, "parent": -1, "bp_id": -1},
     {"id": "63", "order_id": 1, "parent": 0, "bp_id": 0},
     {"id": "9", "order_id": 2, "parent_a": 0, "bp_id_a": 4, "parent_b": 1, "bp_id_b": 7}]

``id`` is the block type, ``parent`` the parent's ``order_id``, ``bp_id`` the parent's attach point;
linear blocks (brace 7, rubber band 9, winch 45) have two parents.

Two modes, selected by ``reference_quirks``:

* ``True`` (default): the checks of the reference ``valid_check`` (BesiegeField ``46aa0d1``)
  reproduced warning for warning, including its leniencies (numeric strings, truncated floats,
  Python negative indices, geometry by list index) and its "Reject" class. See
  ``docs/machines_validity.md``.
* ``False``: a strict reading of the paper's rules (``order_id`` equals the list position, parents
  come earlier, integers are integers, one block per attach point, a root-only machine is fine).

Either way the result is a ``TreeCheck`` carrying typed ``ParseIssue``s (stable codes, item = list
index) next to the reference-style warning lines; ``parse_tree`` raises them as a ``TreeParseError``.
"""

from __future__ import annotations

import ast
import json
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from brickfield.core.errors import ParseError, ParseIssue
from brickfield.core.textio import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_JSON_DEPTH,
    ensure_text,
    loads_json,
    max_nesting,
)
from brickfield.machines.design.types import TreeBlock

__all__ = [
    "DEFAULT_LIMITS",
    "MAX_BLOCKS",
    "REJECT_MESSAGE",
    "ConstructionTree",
    "TreeCheck",
    "TreeCode",
    "TreeLimits",
    "TreeParseError",
    "load_tree_data",
]

MAX_BLOCKS = 512
"""Most blocks a machine may have on every path in (tree text, global-position form, ``.bsg``,
placement, simulation); override per call (``TreeLimits(max_blocks=...)``, ``max_blocks=``). A
machine this size already takes tens of seconds to simulate when its blocks overlap."""

REJECT_MESSAGE = "illegal attachable face"
"""What the reference reports for every input it fails on with an exception ("Reject")."""

KEYS = frozenset({"id", "order_id", "parent", "bp_id"})
"""Key set of a one-parent block."""
LINEAR_KEYS = frozenset({"id", "order_id", "parent_a", "bp_id_a", "parent_b", "bp_id_b"})
"""Key set of a two-parent (linear) block."""


class TreeCode(StrEnum):
    """Stable, machine-readable codes of everything that can be wrong with a tree."""

    BAD_TYPE = "bad_type"                  # input is not text, bytes or a list
    TOO_LARGE = "too_large"                # text over the byte limit
    TOO_DEEP = "too_deep"                  # JSON nesting over the depth limit
    TOO_MANY_BLOCKS = "too_many_blocks"
    BAD_JSON = "bad_json"                  # no JSON / Python list found, or an element is not an object
    EMPTY = "empty"                        # an empty list
    WRONG_KEYS = "wrong_keys"              # key set is neither the one-parent nor the two-parent set
    BAD_VALUE = "bad_value"                # a value that is not an integer (or type id not str/int)
    BAD_ORDER = "bad_order"                # strict mode: order_id differs from the list position
    BAD_ROOT = "bad_root"
    UNKNOWN_TYPE = "unknown_type"
    BAD_ATTACH_POINT = "bad_attach_point"  # bp_id out of range for the parent's type
    BAD_PARENT = "bad_parent"              # parent missing, later in the list, or itself
    LINEAR_ONE_PARENT = "linear_one_parent"
    TWO_PARENTS_NOT_LINEAR = "two_parents_not_linear"
    DUPLICATE_ATTACH = "duplicate_attach"  # two solid blocks on one attach point
    CASCADE = "cascade"                    # parent is invalid, so the child is too


class TreeParseError(ParseError):
    """A construction tree could not be read or is not file-valid; ``issues`` lists every problem."""


@dataclass(frozen=True)
class TreeLimits:
    """Resource limits applied before and while parsing (all explicit, all configurable)."""

    max_bytes: int = DEFAULT_MAX_BYTES       # raw text size
    max_blocks: int = MAX_BLOCKS             # list length
    max_depth: int = DEFAULT_MAX_JSON_DEPTH  # JSON / literal nesting (a tree needs 2)
    max_literal_bytes: int = 200_000         # the ast.literal_eval fallback is only tried below this


DEFAULT_LIMITS = TreeLimits()


# --- extraction ----------------------------------------------------------------------------------

def _json_fences(text: str) -> Iterator[str]:
    """Bodies of ```json fences in order. Linear time: a fence without a closing ``` ends the scan
    (no later one could close either)."""
    pos = 0
    while True:
        start = text.find("```json", pos)
        if start < 0:
            return
        end = text.find("```", start + 7)
        if end < 0:
            return
        yield text[start + 7:end].strip()
        pos = end + 3


def _literal(text: str, limits: TreeLimits) -> Any:
    if len(text) > limits.max_literal_bytes or max_nesting(text, "\"'", "[{(", "]})") > limits.max_depth:
        return None
    try:
        with warnings.catch_warnings():   # "invalid decimal literal" and the like: just not a literal
            warnings.simplefilter("ignore", SyntaxWarning)
            return ast.literal_eval(text)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None


def load_tree_data(source: str | bytes | Sequence[Any], limits: TreeLimits = DEFAULT_LIMITS) -> list[Any]:
    """The raw list of block objects in ``source`` (text, bytes or an already-parsed list).

    Text is searched like the reference does: the first ```json fence that parses, else the whole
    text as JSON, else the whole text as a Python literal (accepts single quotes, trailing commas;
    guarded by ``max_literal_bytes`` and the depth limit). Raises ``TreeParseError`` (codes
    ``too_large``, ``too_deep``, ``bad_json``, ``empty``, ``too_many_blocks``, ``bad_type``).
    """
    if isinstance(source, (list, tuple)):
        if len(source) > limits.max_blocks:   # before copying a huge list
            raise TreeParseError(TreeCode.TOO_MANY_BLOCKS,
                                 f"{len(source)} blocks, over the limit of {limits.max_blocks}")
        data: Any = list(source)
    elif isinstance(source, (str, bytes)):
        try:
            text = ensure_text(source, limits.max_bytes, "tree text")
        except ParseError as exc:
            raise TreeParseError(exc.code, exc.message) from None
        data = _extract(text, limits)
    else:
        raise TreeParseError(TreeCode.BAD_TYPE, f"expected text or a list, got {type(source).__name__}")
    if isinstance(data, tuple):
        data = list(data)
    if not isinstance(data, list):
        raise TreeParseError(TreeCode.BAD_JSON, f"expected a list of blocks, got {type(data).__name__}")
    if not data:
        raise TreeParseError(TreeCode.EMPTY, "the block list is empty")
    if len(data) > limits.max_blocks:
        raise TreeParseError(TreeCode.TOO_MANY_BLOCKS,
                             f"{len(data)} blocks, over the limit of {limits.max_blocks}")
    return data


def _extract(text: str, limits: TreeLimits) -> Any:
    first_error: ParseError | None = None
    for body in _json_fences(text):
        try:
            return loads_json(body, limits.max_depth)
        except ParseError as exc:
            first_error = first_error or exc
    try:
        return loads_json(text, limits.max_depth)
    except ParseError as exc:
        first_error = first_error or exc
    value = _literal(text, limits)
    if value is not None:
        return value
    assert first_error is not None
    code = TreeCode.TOO_DEEP if first_error.code == "too_deep" else TreeCode.BAD_JSON
    raise TreeParseError(code, f"no construction tree found: {first_error.message}",
                         line=first_error.line, column=first_error.column)


# --- the tree object -----------------------------------------------------------------------------

@dataclass(frozen=True)
class ConstructionTree:
    """A file-valid construction tree: blocks in list order plus their resolved parents.

    ``parents[i]`` holds the list indices of block ``i``'s parents (``()`` for the root, two for a
    linear block) and ``points[i]`` the matching non-negative attach-point indices. In strict mode
    they equal the written ``parent``/``bp_id``; in reference mode they follow the reference's
    geometry (list positions, Python negative indices).
    """

    blocks: tuple[TreeBlock, ...]
    parents: tuple[tuple[int, ...], ...]
    points: tuple[tuple[int, ...], ...]
    notes: tuple[ParseIssue, ...] = field(default=(), compare=False)  # warning-level findings

    def __len__(self) -> int:
        return len(self.blocks)

    def __iter__(self) -> Iterator[TreeBlock]:
        return iter(self.blocks)

    def __getitem__(self, index: int) -> TreeBlock:
        return self.blocks[index]

    @property
    def types(self) -> tuple[str, ...]:
        """Type id of every block, in list order."""
        return tuple(b.type_id for b in self.blocks)

    def parent_of(self, index: int) -> int | None:
        """List index of the (first) parent of block ``index``; None for the root."""
        ps = self.parents[index]
        return ps[0] if ps else None

    def attachments(self, index: int) -> tuple[tuple[int, int], ...]:
        """(parent index, attach point) pairs of block ``index`` (two for linear blocks)."""
        return tuple(zip(self.parents[index], self.points[index], strict=True))

    def children(self, index: int) -> tuple[int, ...]:
        """List indices of the blocks attached to block ``index`` (a linear block counts once)."""
        return tuple(i for i, ps in enumerate(self.parents) if index in ps)

    def descendants(self, index: int) -> tuple[int, ...]:
        """Every block that depends on block ``index`` through parent links, in list order."""
        dep = {index}
        for i, ps in enumerate(self.parents):
            if any(p in dep for p in ps):
                dep.add(i)
        dep.discard(index)
        return tuple(sorted(dep))

    def to_json(self) -> list[dict[str, Any]]:
        """The tree as the JSON list an LLM writes (type ids as strings)."""
        out: list[dict[str, Any]] = []
        for b in self.blocks:
            if b.is_two_parent:
                out.append({"id": b.type_id, "order_id": b.order_id, "parent_a": b.parent,
                            "bp_id_a": b.bp_id, "parent_b": b.parent_b, "bp_id_b": b.bp_id_b})
            else:
                out.append({"id": b.type_id, "order_id": b.order_id, "parent": b.parent, "bp_id": b.bp_id})
        return out

    def to_text(self) -> str:
        """Canonical text: a JSON list with one block per line."""
        lines = ",\n ".join(json.dumps(d) for d in self.to_json())
        return f"[{lines}]"


# --- checks --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TreeCheck:
    """Outcome of the file-validity checks.

    ``tree`` is set exactly when the input is file-valid. ``warnings`` are the reference-style lines
    ("Warning: ...") of an illegal building, ``issues`` the same problems as typed codes (plus the
    cause of a reject), ``rejected`` marks the reference's "Reject" class (an exception inside
    ``valid_check``), ``notes`` warning-level findings that do not invalidate the file.
    """

    tree: ConstructionTree | None
    warnings: tuple[str, ...] = ()
    issues: tuple[ParseIssue, ...] = ()
    rejected: bool = False
    notes: tuple[ParseIssue, ...] = ()

    @property
    def file_valid(self) -> bool:
        """True when the tree could be built (no warnings, no reject)."""
        return self.tree is not None

    @property
    def message(self) -> str:
        """The reference's error text: ``illegal building:...`` or the reject message; "" if valid."""
        if self.tree is not None:
            return ""
        if self.rejected or not self.warnings:
            return REJECT_MESSAGE
        return "illegal building:" + "\n".join(self.warnings)

    def raise_if_invalid(self) -> ConstructionTree:
        """The tree, or a ``TreeParseError`` listing every issue."""
        if self.tree is not None:
            return self.tree
        issues = list(self.issues) or [ParseIssue(TreeCode.BAD_JSON, self.message)]
        raise TreeParseError.from_issues(issues)
