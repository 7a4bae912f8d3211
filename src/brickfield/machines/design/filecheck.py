"""File-validity checkers for construction trees (run by ``parse.check_tree_data``).

``ReferenceCheck`` replays the reference ``valid_check`` (BesiegeField ``46aa0d1``): its two passes
of warnings, the order it runs them in, and every exception its placement would raise ("Reject").
``StrictCheck`` reads the paper's rules strictly. Both report typed ``ParseIssue``s next to the
reference-style warning lines. Decisions per quirk: ``docs/machines_validity.md``.
"""

from __future__ import annotations

from typing import Any

from brickfield.core.errors import ParseIssue
from brickfield.core.textio import short_repr
from brickfield.machines.design.catalog import BLOCKS, LINEAR_TYPES
from brickfield.machines.design.tree import KEYS, LINEAR_KEYS, ConstructionTree, TreeCheck, TreeCode
from brickfield.machines.design.types import TreeBlock

__all__ = ["ReferenceCheck", "StrictCheck"]

_INT_KEYS = ("order_id", "parent_a", "bp_id_a", "parent_b", "bp_id_b", "parent", "bp_id")


def _pystr(value: Any) -> str:
    """``str(value)`` for the scalar types a type id can have (cheap for anything else; an int too
    long for ``str`` is no block type either)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
        return f"<int of {value.bit_length()} bits>"
    if isinstance(value, (str, int, float)):
        return str(value)
    return f"<{type(value).__name__}>"


_MAX_INT = 10**18


def _pyint(value: Any) -> int:
    """Python's ``int()`` as the reference applies it (truncates floats, bool -> 0/1, numeric strings
    with whitespace or underscores). Raises ValueError/TypeError/OverflowError like ``int``, and
    OverflowError beyond +-1e18 too: the reference would carry such a number along, but no tree
    needs one and a 5,000-digit id could not even be printed in a report."""
    if isinstance(value, (int, float, str, bytes)):
        out = int(value)
        if abs(out) >= _MAX_INT:
            raise OverflowError("integer out of range")
        return out
    raise TypeError(f"int() argument must be a string or a real number, not {type(value).__name__!r}")


def _strict_int(value: Any) -> int | None:
    """Strict mode: ints, integral floats and digit strings below 1e18; never bools."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if abs(value) < 10**18 else None
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e18:
        return int(value)
    if isinstance(value, str):
        s = value.strip()
        body = s[1:] if s[:1] in "+-" else s
        if body.isascii() and body.isdigit() and len(body) <= 18:
            return int(s)
    return None



class _Reject(Exception):
    """The reference would raise here; ``valid_check`` turns that into "Reject"."""

    def __init__(self, code: TreeCode, message: str, item: int | None) -> None:
        super().__init__(message)
        self.issue = ParseIssue(code, message, item=item)


def _w(oid: int) -> str:
    """Head of the reference's per-block warning lines (no space before the rest, as it writes)."""
    return f"Warning: Block(orderID {_num(oid)})"


def _clip(text: str, limit: int = 40) -> str:
    """``text`` as written, cut to ``limit`` characters (a type id can be any string)."""
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _num(value: int) -> str:
    """An int as the reference prints it, clipped when absurdly long (``int("9" * 4000)`` is valid)."""
    return str(value) if abs(value) < 10**18 else short_repr(value, 24)


class _Checker:
    def __init__(self, data: list[Any]) -> None:
        self.data = data
        self.warnings: list[str] = []
        self.issues: list[ParseIssue] = []
        self.flagged: set[int] = set()

    def flag(self, key: int, code: TreeCode, line: str, item: int) -> None:
        """Record a warning line; ``key`` joins the flagged set children cascade from."""
        self.flagged.add(key)
        self.warnings.append(line)
        self.issues.append(ParseIssue(code, line, item=item))

    def run(self) -> TreeCheck:
        """Run the checks; an internal reject becomes a ``TreeCheck`` with ``rejected=True``."""
        try:
            return self._run()
        except _Reject as rej:
            return TreeCheck(None, tuple(self.warnings), (*self.issues, rej.issue), rejected=True)

    def _run(self) -> TreeCheck:  # pragma: no cover - abstract
        raise NotImplementedError

    def finish(self, blocks: list[TreeBlock], parents: list[tuple[int, ...]],
               points: list[tuple[int, ...]], notes: tuple[ParseIssue, ...] = ()) -> TreeCheck:
        """The result: invalid when any warning was recorded, else the resolved tree."""
        if self.warnings:
            return TreeCheck(None, tuple(self.warnings), tuple(self.issues))
        tree = ConstructionTree(tuple(blocks), tuple(parents), tuple(points), notes)
        return TreeCheck(tree, notes=notes)


class ReferenceCheck(_Checker):
    """The reference's ``llm2xml_filetree`` checks plus the exceptions its placement would raise.

    Order matters and is kept: pass 1 (key sets), pass 2 per block (format, root, cascade, attach
    point, linear mismatch), then placement of the surviving blocks by *list position*.
    """

    def _int(self, block: dict[str, Any], key: str, default: Any, item: int) -> int:
        value = block.get(key, default)
        try:
            return _pyint(value)
        except (ValueError, TypeError, OverflowError):
            raise _Reject(TreeCode.BAD_VALUE, f"block {item}: {key} = {short_repr(value)} is not an integer",
                          item) from None

    def _required(self, block: dict[str, Any], key: str, item: int) -> int:
        if key not in block:
            raise _Reject(TreeCode.WRONG_KEYS, f"block {item} has no {key!r}", item)
        return self._int(block, key, None, item)

    @staticmethod
    def _format_error(block: dict[str, Any]) -> bool:
        for key, value in block.items():
            if key == "id" and not isinstance(value, (str, int)):
                return True
            if key in _INT_KEYS and isinstance(value, str):
                try:
                    int(value)
                except ValueError:
                    return True
        return False

    def _run(self) -> TreeCheck:
        data = self.data
        for i, b in enumerate(data):
            if not isinstance(b, dict):
                raise _Reject(TreeCode.BAD_JSON, f"block {i} is not a JSON object", i)
            if "GlobalPosition" in b:  # the reference would read a custom global frame; not modelled
                raise _Reject(TreeCode.WRONG_KEYS, f"block {i} carries a global frame (GlobalPosition)", i)
        order_index = {self._required(b, "order_id", i): i for i, b in enumerate(data)}
        for i, b in enumerate(data):  # pass 1
            if set(b) != KEYS and set(b) != LINEAR_KEYS:
                self.flag(i, TreeCode.WRONG_KEYS, _w(i) + "structure illegal", i)
        root_reset = False
        for i, b in enumerate(data):  # pass 2
            if self._format_error(b):
                self.flag(i, TreeCode.BAD_VALUE, f"Warning:order{i}json format illegal", i)
                continue
            if i == 0:
                if "id" not in b:
                    raise _Reject(TreeCode.WRONG_KEYS, "the starting block has no 'id'", 0)
                p0, bp0 = self._int(b, "parent", -2, 0), self._int(b, "bp_id", -2, 0)
                if _pystr(b["id"]) != "0" or _pyint(b["order_id"]) != 0:
                    self.flag(0, TreeCode.BAD_ROOT, "Warning: startingBlock illegal", 0)
                    continue
                root_reset = p0 != -1 or bp0 != -1  # the reference silently resets them to -1
            self._pass2(i, b, order_index, reset=i == 0 and root_reset)
        survivors = [i for i, b in enumerate(data) if _pyint(b["order_id"]) not in self.flagged]
        blocks, parents, points = self._place(survivors, root_reset)
        if not self.warnings and len(survivors) < 2:
            raise _Reject(TreeCode.BAD_ROOT, "a machine with only the starting block", 0)
        return self.finish(blocks, parents, points, _duplicate_notes(blocks, parents, points))

    def _pass2(self, i: int, b: dict[str, Any], order_index: dict[int, int], reset: bool) -> None:
        oid = _pyint(b["order_id"])
        parent = -1 if reset else self._int(b, "parent", -1, i)
        linear = parent == -1 and oid != 0
        parents = [self._int(b, "parent_a", -1, i), self._int(b, "parent_b", -1, i)] if linear else [parent]
        if any(p in self.flagged for p in parents):
            self.flag(oid, TreeCode.CASCADE,
                      _w(oid) + f"parent block(orderID {_num(parent)})illegal, so it is illegal too.", i)
            return
        for k, p in enumerate(parents):
            j = order_index.get(p)
            if j is None:
                continue
            if "id" not in self.data[j]:
                raise _Reject(TreeCode.WRONG_KEYS, f"parent block {j} of block {i} has no 'id'", i)
            ptype = _pystr(self.data[j]["id"])
            if reset:
                bp = -1
            elif k == 0:
                bp = self._int(b, "bp_id" if "bp_id" in b else "bp_id_a", -1, i)
            else:
                bp = self._int(b, "bp_id_b", -1, i)
            if ptype in BLOCKS and bp >= len(BLOCKS[ptype].attach_points):
                self.flag(oid, TreeCode.BAD_ATTACH_POINT, _w(oid) + f"parent block(ID {ptype})"
                          f"does not exist Constructible point{_num(bp)}。", i)
        btype = _pystr(b.get("id"))
        if not linear and btype in LINEAR_TYPES:
            self.flag(oid, TreeCode.LINEAR_ONE_PARENT,
                      _w(oid) + "is linear block but not exist two parents", i)
        elif linear and btype not in LINEAR_TYPES:
            self.flag(oid, TreeCode.TWO_PARENTS_NOT_LINEAR,
                      _w(oid) + "exist two parents but not a linear block", i)

    def _place(self, survivors: list[int], root_reset: bool
               ) -> tuple[list[TreeBlock], list[tuple[int, ...]], list[tuple[int, ...]]]:
        """Resolve parents the way the reference's placement does, raising where it would."""
        m = len(survivors)
        n_points: dict[int, int] = {}  # survivor position -> attach points, for solid blocks placed so far
        blocks: list[TreeBlock] = []
        parents: list[tuple[int, ...]] = []
        points: list[tuple[int, ...]] = []

        def resolve(p: int, k: int, pos: int, item: int) -> tuple[int, int]:
            if not -m <= p < m:
                raise _Reject(TreeCode.BAD_PARENT, f"block {item}: parent {_num(p)} does not exist", item)
            j = p % m
            if j not in n_points:
                if j >= pos:
                    raise _Reject(TreeCode.BAD_PARENT,
                                  f"block {item}: parent {_num(p)} is not earlier in the list", item)
                raise _Reject(TreeCode.BAD_ATTACH_POINT, f"block {item}: parent {_num(p)} is a linear block "
                              "and has no attach points", item)
            if not -n_points[j] <= k < n_points[j]:
                raise _Reject(TreeCode.BAD_ATTACH_POINT, f"block {item}: attach point {_num(k)} does not "
                              f"exist on parent {_num(p)}", item)
            return j, k % n_points[j]

        for pos, i in enumerate(survivors):
            b = self.data[i]
            if "id" not in b:
                raise _Reject(TreeCode.WRONG_KEYS, f"block {i} has no 'id'", i)
            btype = _pystr(b["id"])
            if btype not in BLOCKS:
                raise _Reject(TreeCode.UNKNOWN_TYPE, f"block {i}: unknown block type {short_repr(b['id'])}",
                              i)
            oid = _pyint(b["order_id"])
            parent = -1 if i == 0 and root_reset else self._int(b, "parent", -1, i)
            if btype in LINEAR_TYPES:
                if parent != -1:
                    raise _Reject(TreeCode.LINEAR_ONE_PARENT, f"block {i}: a linear block with one parent", i)
                keys = ("parent_a", "parent_b", "bp_id_a", "bp_id_b")
                pa, pb, ka, kb = (self._required(b, k, i) for k in keys)
                (ja, qa), (jb, qb) = resolve(pa, ka, pos, i), resolve(pb, kb, pos, i)
                blocks.append(TreeBlock(btype, oid, pa, ka, pb, kb))
                parents.append((ja, jb))
                points.append((qa, qb))
                continue
            if parent == -1:  # the root (or another parentless solid block): placed at the origin
                try:
                    bp = -1 if i == 0 and root_reset else _pyint(b.get("bp_id", -1))
                except (ValueError, TypeError, OverflowError):
                    bp = -1
                blocks.append(TreeBlock(btype, oid, -1, bp))
                parents.append(())
                points.append(())
            else:
                bp = self._required(b, "bp_id", i)
                j, q = resolve(parent, bp, pos, i)
                blocks.append(TreeBlock(btype, oid, parent, bp))
                parents.append((j,))
                points.append((q,))
            n_points[pos] = len(BLOCKS[btype].attach_points)
        return blocks, parents, points


class StrictCheck(_Checker):
    """The paper's rules read strictly; every problem is reported, none raises."""

    def _run(self) -> TreeCheck:
        self.types: list[str | None] = []
        self.used: dict[tuple[int, int], int] = {}
        blocks: list[TreeBlock] = []
        parents: list[tuple[int, ...]] = []
        points: list[tuple[int, ...]] = []
        for i, b in enumerate(self.data):
            got = self._block(i, b)
            self.types.append(got[0].type_id if got else None)
            if got:
                blocks.append(got[0])
                parents.append(got[1])
                points.append(got[2])
        return self.finish(blocks, parents, points)

    def _block(self, i: int, b: Any) -> tuple[TreeBlock, tuple[int, ...], tuple[int, ...]] | None:
        if not isinstance(b, dict):
            return self.flag(i, TreeCode.BAD_JSON, _w(i) + "is not a JSON object", i)
        keys = set(b)
        linear = keys == LINEAR_KEYS
        if keys != KEYS and not (linear and i > 0):
            return self.flag(i, TreeCode.WRONG_KEYS, _w(i) + "structure illegal", i)
        vals = {k: _strict_int(b[k]) for k in keys - {"id"}}
        tid = b["id"]
        if any(v is None for v in vals.values()) or isinstance(tid, bool) or not isinstance(tid, (str, int)):
            return self.flag(i, TreeCode.BAD_VALUE, f"Warning:order{i}json format illegal", i)
        v: dict[str, int] = {k: x for k, x in vals.items() if x is not None}
        btype = _pystr(tid)
        if btype not in BLOCKS:
            return self.flag(i, TreeCode.UNKNOWN_TYPE, _w(i) + f"unknown block type {_clip(btype)}", i)
        if v["order_id"] != i:
            return self.flag(i, TreeCode.BAD_ORDER, _w(v["order_id"]) + f"order_id should "
                             f"be {i}, its position in the list", i)
        if i == 0:
            if btype != "0" or v["parent"] != -1 or v["bp_id"] != -1:
                return self.flag(0, TreeCode.BAD_ROOT, "Warning: startingBlock illegal", 0)
            return TreeBlock("0", 0, -1, -1), (), ()
        if btype == "0":
            return self.flag(i, TreeCode.BAD_ROOT,
                             _w(i) + "only the first block may be a starting block", i)
        if btype in LINEAR_TYPES and not linear:
            return self.flag(i, TreeCode.LINEAR_ONE_PARENT,
                             _w(i) + "is linear block but not exist two parents", i)
        if linear and btype not in LINEAR_TYPES:
            return self.flag(i, TreeCode.TWO_PARENTS_NOT_LINEAR,
                             _w(i) + "exist two parents but not a linear block", i)
        pairs = ([(v["parent_a"], v["bp_id_a"]), (v["parent_b"], v["bp_id_b"])] if linear
                 else [(v["parent"], v["bp_id"])])
        for p, _ in pairs:
            if p in self.flagged:
                return self.flag(i, TreeCode.CASCADE, _w(i) + f"parent block(orderID {p})"
                                 "illegal, so it is illegal too.", i)
        for p, k in pairs:
            if not 0 <= p < i:
                return self.flag(i, TreeCode.BAD_PARENT, _w(i) + f"parent block(orderID {p})"
                                 "does not exist before it", i)
            ptype = self.types[p]
            assert ptype is not None  # flagged parents were handled above
            if not 0 <= k < len(BLOCKS[ptype].attach_points):
                return self.flag(i, TreeCode.BAD_ATTACH_POINT, _w(i) + f"parent block(ID "
                                 f"{ptype})does not exist Constructible point{k}。", i)
        if not linear:
            key = pairs[0]
            if key in self.used:
                line = (_w(i) + f"attach point {key[1]} of block(orderID {key[0]})is already used by "
                        f"block(orderID {self.used[key]})")
                return self.flag(i, TreeCode.DUPLICATE_ATTACH, line, i)
            self.used[key] = i
            return TreeBlock(btype, i, v["parent"], v["bp_id"]), (key[0],), (key[1],)
        (pa, ka), (pb, kb) = pairs
        return TreeBlock(btype, i, pa, ka, pb, kb), (pa, pb), (ka, kb)


def _duplicate_notes(blocks: list[TreeBlock], parents: list[tuple[int, ...]],
                     points: list[tuple[int, ...]]) -> tuple[ParseIssue, ...]:
    """Warning-level ``duplicate_attach`` findings: two solid blocks on one attach point (the
    reference only notices this when the two boxes overlap)."""
    used: dict[tuple[int, int], int] = {}
    notes: list[ParseIssue] = []
    for i, (b, ps, qs) in enumerate(zip(blocks, parents, points, strict=True)):
        if b.is_two_parent or not ps:
            continue
        key = (ps[0], qs[0])
        if key in used:
            text = (f"block {i} uses attach point {key[1]} of block {key[0]}, "
                    f"already used by block {used[key]}")
            notes.append(ParseIssue(TreeCode.DUPLICATE_ATTACH, text, item=i))
        else:
            used[key] = i
    return tuple(notes)
