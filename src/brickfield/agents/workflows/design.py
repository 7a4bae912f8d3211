"""Machines as the workflows handle them: reading a design from a model answer, the static checks
(no simulation), what a prompt shows of a machine, edits, and export.

A ``Draft`` is a file-valid construction tree in canonical form (``order_id`` = list position, the
ids edits refer to) plus its static verdict. In the global-position ablation the model writes and
reads the global-position form (``placement.to_global`` / ``tree_from_global``); everything else
(edits, evaluation) works on the tree recovered from it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property

from brickfield.agents.edits import EditResult, apply_edits, canonical_tree, parse_edits
from brickfield.agents.info3d import machine_info3d
from brickfield.agents.prompts import answer_block
from brickfield.agents.prompts.roles import ROOT_ONLY
from brickfield.core import TaskSpec
from brickfield.core.errors import BrickfieldError, ParseError
from brickfield.machines.design.parse import parse_tree
from brickfield.machines.design.placement import to_global, tree_from_global
from brickfield.machines.design.tree import ConstructionTree
from brickfield.machines.design.types import PlacedMachine
from brickfield.machines.design.validity import ValidityReport, check_tree
from brickfield.machines.tasks import allowed_block_types

__all__ = ["GLOBAL_FORMAT_NOTE", "NOT_PROVIDED", "Draft", "apply_refinement",
           "read_design", "root_draft", "to_bsg_text"]

NOT_PROVIDED = "(not provided)"

GLOBAL_FORMAT_NOTE = (
    "Machine representation for this run: the GLOBAL-POSITION form instead of the construction tree. "
    "Write (and read) a machine as a JSON list: first {\"GP\": [x, y, z], \"GR\": [0, 0, 0, 1]} (the "
    "machine's global position and rotation), then one entry per block in build order: {\"id\": <type "
    "id>, \"Position\": [x, y, z], \"Rotation\": [x, y, z, w]} with the block's connection point "
    "relative to GP and its quaternion; two-point blocks add \"end-position\": [dx, dy, dz] (end B minus "
    "end A). Every block must sit on a free attach point of an earlier block, facing away from that "
    "point's face, exactly as the building rules say; order_ids are the list positions (0 = the "
    "Starting Block at [0, 0, 0]).")
"""Told to every role in the global-position ablation (the templates describe the tree)."""


def _quirks(task: TaskSpec) -> bool:
    return bool(task.param("reference_quirks", True))




@dataclass
class Draft:
    """A file-valid canonical tree with its static verdict (``valid``: file- and spatially valid and
    built from allowed blocks; ``errors`` otherwise)."""

    tree: ConstructionTree
    quirks: bool = True
    report: ValidityReport | None = field(default=None, repr=False)
    errors: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        """Canonical construction-tree JSON (what is evaluated)."""
        return self.tree.to_text()

    @property
    def valid(self) -> bool:
        """Statically valid (see the class docstring)."""
        return not self.errors

    @property
    def placed(self) -> PlacedMachine | None:
        """The placed machine (None when it could not be placed)."""
        return self.report.machine if self.report is not None else None

    @cached_property
    def info3d(self) -> str:
        """The 3D information text."""
        try:
            return machine_info3d(self.tree, reference_quirks=self.quirks, placed=self.placed).to_text()
        except (BrickfieldError, ValueError, AssertionError) as exc:
            return f"(not available: {exc})"

    def shown(self, global_position: bool) -> str:
        """The machine as a prompt shows it: the tree, or the global-position form."""
        if global_position and self.placed is not None:
            return json.dumps(to_global(self.placed))
        return self.text


def _draft(tree: ConstructionTree, task: TaskSpec, *, canonical: bool = True) -> Draft:
    quirks = _quirks(task)
    if canonical:
        tree = canonical_tree(tree, reference_quirks=quirks)
    try:
        report = check_tree(tree, reference_quirks=quirks)
    except BrickfieldError as exc:
        return Draft(tree, quirks, None, (f"the machine cannot be placed: {exc}",))
    errors = list(report.errors)
    allowed = allowed_block_types(task)
    if allowed is not None:
        bad = sorted(set(tree.types) - allowed)
        if bad:
            errors.append(f"blocks not allowed on this level: {', '.join(bad)}")
    return Draft(tree, quirks, report, tuple(errors))


def root_draft(task: TaskSpec) -> Draft:
    """The bare Starting Block (the first builder's machine)."""
    # reference mode refuses a one-block file; the strict reading of it is the same machine
    return _draft(parse_tree(ROOT_ONLY, reference_quirks=False), task, canonical=False)


def read_design(answer: str, task: TaskSpec, *,
                global_position: bool = False) -> tuple[Draft | None, list[str]]:
    """The machine in a model answer (its last ```json block, else the whole text) and the reasons it
    could not be read. The draft may still be statically invalid (``Draft.errors``)."""
    if not isinstance(answer, str) or not answer.strip():
        return None, ["empty answer"]
    body = answer_block(answer, "json")
    source = body if body else answer
    try:
        if global_position:
            tree = tree_from_global(source, reference_quirks=_quirks(task))
        else:
            tree = parse_tree(source, reference_quirks=_quirks(task))
    except ParseError as exc:
        return None, [str(exc)[:1000]]
    except (BrickfieldError, ValueError, RecursionError) as exc:
        return None, [f"{type(exc).__name__}: {exc}"[:1000]]
    return _draft(tree, task), []


def apply_refinement(draft: Draft, answer: str, task: TaskSpec) -> tuple[Draft | None, EditResult | None,
                                                                         list[str]]:
    """Apply the edits of a refiner answer (its ```edits block, else edit lines anywhere).

    Returns the new draft (None when any step failed, nothing changed, or the edits made a valid
    machine invalid; a machine that was invalid already may stay so), the ``EditResult`` (None when
    no step was found) and the errors to show the refiner."""
    if not isinstance(answer, str) or not answer.strip():
        return None, None, ["empty answer"]
    script = parse_edits(answer)  # finds the ```edits fence itself and reports malformed steps inside it
    if not script.steps:
        return None, None, ["no edit steps found: give them in a ```edits block, one step per line"]
    result = apply_edits(draft.tree, script, reference_quirks=draft.quirks,
                         allowed_blocks=allowed_block_types(task))
    if not result.ok:
        return None, result, [e.message for e in result.errors] or ["an edit step failed"]
    if not result.changed:
        return None, result, ["the edits change nothing"]
    new = _draft(result.tree, task)
    if not new.valid and draft.valid:
        return None, result, list(new.errors)
    return new, result, []


def to_bsg_text(design_text: str | None, task: TaskSpec, name: str = "brickfield machine") -> str | None:
    """The ``.bsg`` XML of a design (None when it cannot be placed)."""
    from brickfield.machines.io.bsg import to_bsg

    if not design_text:
        return None
    try:
        report = check_tree(parse_tree(design_text, reference_quirks=_quirks(task)),
                            reference_quirks=_quirks(task))
    except (BrickfieldError, ValueError):
        return None
    return to_bsg(report.machine, name=name) if report.machine is not None else None
