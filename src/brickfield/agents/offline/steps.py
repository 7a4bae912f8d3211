"""Edit steps: the offline designers change trees only through the refiner's edit language.

Mutation and crossover operators build ``Add`` / ``Remove`` / ``Move`` edits
(``brickfield.agents.edits``) and :func:`apply_steps` applies them with ``apply_edits``, so every
design the search produces is reachable by an LLM refiner writing the same lines
(``format_edit``: ``Add [2] to [0] in [3]``). As in the edit language, order ids are stable within
one script: they refer to the tree as given, and the k-th Add creates block ``len(tree) + k``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from brickfield.agents.edits import Add, Edit, Move, Remove, apply_edits, format_edit
from brickfield.core.errors import BrickfieldError
from brickfield.machines.design.tree import ConstructionTree

__all__ = ["EditStepError", "add_linear_step", "add_step", "apply_steps", "move_step", "remove_step",
           "script_text"]


class EditStepError(BrickfieldError):
    """Edit steps that do not apply to a tree (the proposal is dropped)."""


def add_step(type_id: str, parent: int, point: int) -> Add:
    """``Add [type] to [parent] in [point]``."""
    return Add(type_id, ((parent, point),))


def add_linear_step(type_id: str, a: int, point_a: int, b: int, point_b: int) -> Add:
    """``Add [type] to [a] in [point_a] to [b] in [point_b]`` (brace, rubber band, winch)."""
    return Add(type_id, ((a, point_a), (b, point_b)))


def remove_step(order_id: int) -> Remove:
    """``Remove [order_id]`` (nothing may be attached to it)."""
    return Remove(order_id)


def move_step(order_id: int, parent: int, point: int) -> Move:
    """``Move [order_id] to [parent] in [point]`` (``parent < order_id``)."""
    return Move(order_id, ((parent, point),))


def script_text(steps: Iterable[Edit]) -> str:
    """The steps as edit-language lines (what a refiner would write)."""
    return "\n".join(format_edit(e) for e in steps)


def apply_steps(tree: ConstructionTree, steps: Sequence[Edit], *, allowed_blocks: Iterable[str] | None = None,
                max_blocks: int = 512) -> ConstructionTree:
    """The tree after all ``steps`` (file checks in the strict reading; the caller runs the spatial
    check once on the result instead of after every step). Raises ``EditStepError`` when a step fails.
    """
    result = apply_edits(tree, list(steps), spatial=False, reference_quirks=False,
                         allowed_blocks=allowed_blocks, max_blocks=max_blocks)
    if not result.ok:
        raise EditStepError(result.errors[0].message if result.errors else "edit steps not applied")
    return result.tree
