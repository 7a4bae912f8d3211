"""The meta-designer's blueprint: a machine split into a few functional blocks, as JSON.

::

    {"machine": "four-wheel car",
     "requirements": ["drive forward 5 s on a flat road", "stay upright"],
     "functional_blocks": [
       {"name": "chassis", "purpose": "carry everything", "block_types": ["0", "63"],
        "connects_to": [], "design": "a log forward of the Starting Block"},
       {"name": "drive", "purpose": "push the machine forward", "block_types": ["2"],
        "connects_to": ["chassis"], "design": "powered wheels on the left and right faces"}],
     "build_order": ["chassis", "drive"]}

The prompt asks for three or four functional blocks; ``parse_blueprint`` accepts ``min_blocks`` to
``max_blocks`` (1-6 by default) and checks names, block types (known, and allowed when a set is
given) and that ``build_order`` names every functional block once. Builders get one functional block
per stage, in build order (``Blueprint.stages``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from brickfield.core.errors import ParseError, ParseIssue
from brickfield.core.textio import fenced_blocks, loads_json, strip_trailing_commas
from brickfield.machines.design.catalog import BLOCKS

__all__ = ["BLUEPRINT_EXAMPLE", "BLUEPRINT_FORMAT", "Blueprint", "BlueprintError", "FunctionalBlock",
           "parse_blueprint"]

MAX_CHARS = 50_000


class BlueprintError(ParseError):
    """A blueprint that cannot be read or breaks the format (codes ``bad_json``, ``bad_schema``,
    ``unknown_type``, ``type_not_allowed``, ``bad_count``, ``bad_build_order``, ``too_large``)."""


@dataclass(frozen=True)
class FunctionalBlock:
    """One functional block of the machine."""

    name: str
    purpose: str
    block_types: tuple[str, ...]
    connects_to: tuple[str, ...] = ()
    design: str = ""

    def to_text(self) -> str:
        """One paragraph for a builder: name, purpose, blocks, connections, design notes."""
        types = ", ".join(f"{t} ({BLOCKS[t].name})" for t in self.block_types if t in BLOCKS)
        out = f"{self.name}: {self.purpose} Blocks: {types or 'any allowed'}."
        if self.connects_to:
            out += f" Connects to: {', '.join(self.connects_to)}."
        if self.design:
            out += f" Design: {self.design}"
        return out


@dataclass(frozen=True)
class Blueprint:
    """A parsed blueprint (see the module docstring)."""

    machine: str
    requirements: tuple[str, ...]
    functional_blocks: tuple[FunctionalBlock, ...]
    build_order: tuple[str, ...]

    @property
    def stages(self) -> tuple[FunctionalBlock, ...]:
        """The functional blocks in build order (one builder stage each)."""
        by_name = {f.name: f for f in self.functional_blocks}
        return tuple(by_name[n] for n in self.build_order)

    def to_dict(self) -> dict[str, Any]:
        """The JSON object (lists, not tuples)."""
        d = asdict(self)
        d["requirements"] = list(self.requirements)
        d["build_order"] = list(self.build_order)
        d["functional_blocks"] = [{**f, "block_types": list(f["block_types"]),
                                   "connects_to": list(f["connects_to"])} for f in d["functional_blocks"]]
        return d

    def to_text(self) -> str:
        """Indented JSON text (what a builder prompt shows)."""
        return json.dumps(self.to_dict(), indent=1, ensure_ascii=False)


BLUEPRINT_EXAMPLE = {
    "machine": "<short name of the machine>",
    "requirements": ["<what the machine must achieve to score>", "<constraints from the level>"],
    "functional_blocks": [
        {"name": "<unique name, e.g. chassis>", "purpose": "<what this part does for the task>",
         "block_types": ["<type id>", "<type id>"], "connects_to": ["<names of the parts it attaches to>"],
         "design": "<how it is built: which blocks, where, facing which way>"},
    ],
    "build_order": ["<names of the functional blocks, the one holding the Starting Block first>"],
}

def _example_text() -> str:
    """The example object with one key (and one functional block) per line."""
    ex = BLUEPRINT_EXAMPLE
    parts = ",\n  ".join(json.dumps(f) for f in ex["functional_blocks"])
    return (f'{{"machine": {json.dumps(ex["machine"])},\n "requirements": {json.dumps(ex["requirements"])},\n'
            f' "functional_blocks": [\n  {parts}],\n "build_order": {json.dumps(ex["build_order"])}}}')


BLUEPRINT_FORMAT = (
    "One JSON object:\n" + _example_text() + "\n"
    "- functional_blocks: 3 or 4 parts; each name is unique; block_types lists the type ids it uses "
    "(only ids from the block table); connects_to names other parts.\n"
    "- build_order: every part exactly once; the first part contains the Starting Block (0) and each "
    "later part attaches to parts built before it.")
"""The blueprint format as shown to the meta-designer."""


def _decode(text: str) -> Any:
    bodies = [b for tag, b in fenced_blocks(text) if tag in ("json", "")] or [text]
    first: ParseError | None = None
    for body in bodies:
        for candidate in (body, strip_trailing_commas(body)):
            try:
                return loads_json(candidate.strip())
            except ParseError as exc:
                first = first or exc
    start, end = text.find("{"), text.rfind("}")
    if 0 <= start < end:
        try:
            return loads_json(strip_trailing_commas(text[start:end + 1]))
        except ParseError:
            pass
    raise BlueprintError("bad_json", f"no blueprint JSON found: {first.message if first else 'empty text'}")


def _strings(value: Any, what: str, issues: list[ParseIssue], item: int | None = None) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, (str, int)) and not isinstance(v, bool)
                                              for v in value):
        issues.append(ParseIssue("bad_schema", f"{what} must be a list of strings", item=item))
        return ()
    return tuple(str(v).strip() for v in value)


def _part(k: int, d: Any, allowed: frozenset[str] | None, issues: list[ParseIssue]) -> FunctionalBlock | None:
    if not isinstance(d, dict) or not isinstance(d.get("name"), str) or not d["name"].strip():
        issues.append(ParseIssue("bad_schema", "each functional block needs a non-empty \"name\"", item=k))
        return None
    name = d["name"].strip()
    types = _strings(d.get("block_types"), f"block_types of {name!r}", issues, k)
    for t in types:
        if t not in BLOCKS:
            issues.append(ParseIssue("unknown_type", f"{name!r} uses unknown block type {t[:20]!r}", item=k))
        elif allowed is not None and t not in allowed:
            issues.append(ParseIssue("type_not_allowed", f"{name!r} uses {BLOCKS[t].name} ({t}), which this "
                                     "level does not allow", item=k))
    return FunctionalBlock(name, str(d.get("purpose", "")).strip(), types,
                           _strings(d.get("connects_to"), f"connects_to of {name!r}", issues, k),
                           str(d.get("design", "")).strip())


def parse_blueprint(text: str | bytes | dict[str, Any], *, allowed_blocks: Iterable[str] | None = None,
                    min_blocks: int = 1, max_blocks: int = 6) -> Blueprint:
    """Read a blueprint from model output (a ```json fence, bare JSON or the outermost ``{...}``) or a
    decoded dict. Raises ``BlueprintError`` listing every problem; ``build_order`` defaults to the
    listed order when missing."""
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("utf-8", errors="replace")
    if isinstance(text, str):
        if len(text) > MAX_CHARS:
            raise BlueprintError("too_large", f"blueprint text is {len(text)} characters, over {MAX_CHARS}")
        data = _decode(text)
    else:
        data = text
    if not isinstance(data, dict) or not isinstance(data.get("functional_blocks"), list):
        raise BlueprintError("bad_schema", "the blueprint must be an object with a functional_blocks list")
    allowed = None if allowed_blocks is None else frozenset(allowed_blocks)
    issues: list[ParseIssue] = []
    parts = [p for k, d in enumerate(data["functional_blocks"]) if (p := _part(k, d, allowed, issues))]
    names = [p.name for p in parts]
    if not min_blocks <= len(data["functional_blocks"]) <= max_blocks:
        issues.append(ParseIssue("bad_count", f"{len(data['functional_blocks'])} functional blocks; give "
                                 f"{min_blocks}-{max_blocks}"))
    if len(set(names)) != len(names):
        issues.append(ParseIssue("bad_schema", "functional block names must be unique"))
    order = _strings(data.get("build_order"), "build_order", issues) or tuple(names)
    if sorted(order) != sorted(names):
        issues.append(ParseIssue("bad_build_order", f"build_order {list(order)} must name every functional "
                                 f"block once: {names}"))
    requirements = _strings(data.get("requirements"), "requirements", issues)
    if issues:
        raise BlueprintError.from_issues(issues)
    return Blueprint(str(data.get("machine", "")).strip(), requirements, tuple(parts), order)
