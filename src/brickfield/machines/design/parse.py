"""Reading a construction tree: extraction (``tree.load_tree_data``) followed by the file checks
(``filecheck``). Kept apart from ``tree`` so the checkers can use the tree's types without a cycle."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from brickfield.machines.design.filecheck import ReferenceCheck, StrictCheck
from brickfield.machines.design.tree import (
    DEFAULT_LIMITS,
    ConstructionTree,
    TreeCheck,
    TreeLimits,
    load_tree_data,
)
from brickfield.machines.design.types import TreeBlock

__all__ = ["check_tree_data", "parse_tree", "tree_from_blocks"]


def check_tree_data(data: Sequence[Any], *, reference_quirks: bool = True) -> TreeCheck:
    """Run the file-validity checks on an extracted block list (see ``load_tree_data``)."""
    checker = ReferenceCheck(list(data)) if reference_quirks else StrictCheck(list(data))
    return checker.run()


def parse_tree(source: str | bytes | Sequence[Any], *, reference_quirks: bool = True,
               limits: TreeLimits = DEFAULT_LIMITS) -> ConstructionTree:
    """Parse raw LLM output (or a parsed list) into a file-valid ``ConstructionTree``.

    Raises ``TreeParseError`` (a ``ParseError``) with a stable code and the offending block's list
    index in ``item``; ``issues`` lists every problem found, not just the first.
    """
    data = load_tree_data(source, limits)
    return check_tree_data(data, reference_quirks=reference_quirks).raise_if_invalid()


def tree_from_blocks(blocks: Sequence[TreeBlock], *, reference_quirks: bool = False) -> ConstructionTree:
    """Validate ``TreeBlock``s (e.g. built by an agent) and resolve their parents.

    Raises ``TreeParseError`` when the blocks do not form a file-valid tree.
    """
    data = [dict(d) for d in ConstructionTree(tuple(blocks), (), ()).to_json()]
    return parse_tree(data, reference_quirks=reference_quirks)
