"""Edit steps: the offline designers change trees only through BesiegeField's edit language.

Mutation and crossover operators write lines of the edit language (``Add 2 to 0 in 3``,
``Add 9 to 1 in 4 to 3 in 0``, ``Remove 5``, ``Move 4 to 1 in 2``); :func:`apply_steps` applies
them with the shared edit module, so every design the search produces is reachable by an LLM
refiner writing the same steps.

Until ``brickfield.agents.edits`` is committed, ``_apply_local`` stands in for it (same semantics:
``Add`` appends with the next order_id, ``Remove`` takes a leaf and renumbers the blocks after it,
``Move`` re-attaches a block, with its subtree, to an earlier block). It is deleted when the edit
module lands.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from brickfield.core.errors import BrickfieldError
from brickfield.machines.design.tree import ConstructionTree, TreeParseError, parse_tree

__all__ = ["EditStepError", "add_linear_step", "add_step", "apply_steps", "move_step", "remove_step"]


class EditStepError(BrickfieldError):
    """A list of edit steps could not be applied to a tree (the proposal is dropped)."""


def add_step(type_id: str, parent: int, point: int) -> str:
    """``Add [type] to [order_id] in [bp]``."""
    return f"Add {type_id} to {parent} in {point}"


def add_linear_step(type_id: str, a: int, point_a: int, b: int, point_b: int) -> str:
    """``Add [type] to [a] in [bpa] to [b] in [bpb]`` (brace, rubber band, winch)."""
    return f"Add {type_id} to {a} in {point_a} to {b} in {point_b}"


def remove_step(order_id: int) -> str:
    """``Remove [order_id]`` (a leaf)."""
    return f"Remove {order_id}"


def move_step(order_id: int, parent: int, point: int) -> str:
    """``Move [order_id] to [new_parent] in [bp]`` (``new_parent < order_id``)."""
    return f"Move {order_id} to {parent} in {point}"


def apply_steps(tree: ConstructionTree, steps: Sequence[str]) -> ConstructionTree:
    """The tree after ``steps``, re-checked for file validity (strict reading).

    Raises ``EditStepError`` when a step does not parse, does not apply, or leaves a file-invalid
    tree."""
    return _apply_local(tree, steps)


_ADD = re.compile(r"^Add (\S+) to (\d+) in (\d+)(?: to (\d+) in (\d+))?$")
_REMOVE = re.compile(r"^Remove (\d+)$")
_MOVE = re.compile(r"^Move (\d+) to (\d+) in (\d+)$")


def _apply_local(tree: ConstructionTree, steps: Sequence[str]) -> ConstructionTree:
    """Stand-in for ``brickfield.agents.edits`` (deleted when that module lands)."""
    blocks = [dict(d) for d in tree.to_json()]
    for step in steps:
        if m := _ADD.match(step):
            t, a, ka, b, kb = m.groups()
            n = len(blocks)
            if b is None:
                blocks.append({"id": t, "order_id": n, "parent": int(a), "bp_id": int(ka)})
            else:
                blocks.append({"id": t, "order_id": n, "parent_a": int(a), "bp_id_a": int(ka),
                               "parent_b": int(b), "bp_id_b": int(kb)})
        elif m := _REMOVE.match(step):
            k = int(m.group(1))
            refs = {d.get(key) for d in blocks for key in ("parent", "parent_a", "parent_b")}
            if not 0 < k < len(blocks) or k in refs:
                raise EditStepError(f"{step!r}: not a removable leaf")
            del blocks[k]
            for d in blocks:
                for key in ("order_id", "parent", "parent_a", "parent_b"):
                    if key in d and d[key] > k:
                        d[key] -= 1
        elif m := _MOVE.match(step):
            k, p, bp = (int(g) for g in m.groups())
            if not 0 < k < len(blocks) or not p < k or "parent" not in blocks[k]:
                raise EditStepError(f"{step!r}: cannot move")
            blocks[k]["parent"], blocks[k]["bp_id"] = p, bp
        else:
            raise EditStepError(f"not an edit step: {step!r}")
    try:
        return parse_tree(blocks, reference_quirks=False)
    except TreeParseError as exc:
        raise EditStepError(f"edit leaves an invalid tree: {exc}") from None
