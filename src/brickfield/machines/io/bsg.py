"""Besiege ``.bsg`` machine files: write a placed machine the game loads, and read one back safely.

Layout written (the one Besiege's own saves use, ``bsgVersion`` 1.3 as BesiegeField writes it)::

    <?xml version="1.0" encoding="utf-8"?>
    <!--Besiege machine save file.-->
    <Machine version="1" bsgVersion="1.3" name="...">
        <Global> <Position x y z /> <Rotation x y z w /> </Global>
        <Data> <StringArray key="requiredMods" /> </Data>
        <Blocks>
            <Block id="2" guid="...">
                <Transform> <Position .../> <Rotation .../> <Scale x="1" y="1" z="1" /> </Transform>
                <Data> <Boolean key="bmt-automatic">True</Boolean> ... </Data>
            </Block>

``Global`` holds the auto-placed machine position and the identity rotation; each block's
``Position``/``Rotation`` are in the machine frame (world minus global position). Linear blocks
(brace 7, rubber band 9, winch 45) sit at end A with identity rotation and store end B - A as the
``end-position`` ``Vector3``. ``Data`` holds BesiegeField's per-type defaults (``block_data``).

Reading (``parse_bsg``/``from_bsg``) refuses DOCTYPE and ENTITY declarations outright (so no entity
expansion, internal or external, can happen), caps the input size, nesting depth and element count,
and raises ``BsgParseError`` with a stable code on anything malformed. ``bsg_to_tree`` recovers a
construction tree through ``placement.tree_from_global``.
"""

from __future__ import annotations

import itertools
import math
import re
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from xml.parsers import expat

import numpy as np

from brickfield.core.errors import ParseError
from brickfield.core.textio import ensure_text, short_repr
from brickfield.machines.design.catalog import LINEAR_TYPES, POWERED_WHEEL_TYPES, bsg_id
from brickfield.machines.design.placement import place, tree_from_global
from brickfield.machines.design.quat import besiege_rotate
from brickfield.machines.design.tree import MAX_BLOCKS, ConstructionTree, TreeLimits, TreeParseError
from brickfield.machines.design.types import PlacedBlock, PlacedMachine

__all__ = [
    "BSG_VERSION",
    "BsgMachine",
    "BsgParseError",
    "DataEntry",
    "block_data",
    "bsg_to_tree",
    "from_bsg",
    "parse_bsg",
    "to_bsg",
]

BSG_VERSION = "1.3"
"""``bsgVersion`` attribute: what BesiegeField writes and the game versions it runs load."""
MACHINE_VERSION = "1"
MAX_BSG_BYTES = 4_000_000
MAX_BSG_BLOCKS = MAX_BLOCKS   # the machine-wide block limit (``design.tree.MAX_BLOCKS``)
MAX_BSG_DEPTH = 12          # Machine/Blocks/Block/Data/StringArray/String is 6 deep
MAX_BSG_ELEMENTS = 200_000
PISTON_WORK = 4_096
"""Most blocks ``bsg_to_tree`` places while trying piston types (combinations x blocks): 64
combinations of a 64-block machine, not 64 of a 512-block one (half a minute of hostile input)."""

# guids are uuid5(namespace, "seed:index"): same machine + seed -> byte-identical file.
_GUID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://brickfield/machines/bsg")
_POS_DECIMALS = 6           # positions are multiples of 0.025; 6 decimals removes float noise
_QUAT_DECIMALS = 7          # the game writes float32 quaternions: 0.7071068
_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


class BsgParseError(ParseError):
    """A ``.bsg`` text could not be read. Codes: ``too_large``, ``bad_xml``, ``forbidden_dtd``,
    ``too_deep``, ``too_many_blocks``, ``bad_bsg`` (structure), ``bad_value`` (a number)."""


# --- Data defaults ------------------------------------------------------------------------------

@dataclass(frozen=True)
class DataEntry:
    """One typed ``Data`` entry: ``<{tag} key="{key}">{value}</{tag}>`` (Vector3: X/Y/Z children)."""

    tag: str                                   # Boolean, Single, Integer, String, StringArray, Vector3
    key: str
    value: str | tuple[float, float, float]


_ZERO = (0.0, 0.0, 0.0)
# Spinning block: speed 1, instant acceleration, brakes when idle, never flipped (BesiegeField).
_SPINNING = (DataEntry("Integer", "bmt-version", "1"), DataEntry("Single", "bmt-speed", "1"),
             DataEntry("Single", "bmt-acceleration", "Infinity"),
             DataEntry("Boolean", "bmt-auto-brake", "True"), DataEntry("Boolean", "flipped", "False"))
# Rubber band: strength slider 10, contracts while L is held, not a toggle.
_BAND = (DataEntry("Single", "bmt-slider", "10"), DataEntry("StringArray", "bmt-contract", "L"),
         DataEntry("Boolean", "bmt-toggle", "False"))


def block_data(block: PlacedBlock) -> list[DataEntry]:
    """The ``Data`` entries BesiegeField writes for ``block`` (README table "bsg Data defaults").

    Powered wheels run on their own from t=0 (``bmt-automatic``) and those facing x- are
    ``flipped`` so both sides drive the machine forward; linear blocks carry their end offset.
    """
    t = block.type_id
    if t == "0":
        return [DataEntry("Integer", "bmt-version", "1")]
    if t in POWERED_WHEEL_TYPES:
        out = [DataEntry("Boolean", "bmt-automatic", "True"), DataEntry("Boolean", "bmt-auto-brake", "False")]
        if block.flipped:  # the reference writes the key only when it is True
            out.append(DataEntry("Boolean", "flipped", "True"))
        return out
    if t == "22":
        return list(_SPINNING)
    if t == "35":
        return [DataEntry("Single", "bmt-mass", "3")]
    if t in LINEAR_TYPES:
        if block.position_b is None:
            raise ValueError(f"linear block {block.index} has no end B")
        a, b = block.position, block.position_b
        end = (_clean(b[0] - a[0], _POS_DECIMALS), _clean(b[1] - a[1], _POS_DECIMALS),
               _clean(b[2] - a[2], _POS_DECIMALS))
        ends = [DataEntry("Vector3", "start-position", _ZERO), DataEntry("Vector3", "end-position", end)]
        return [*_BAND, *ends] if t == "9" else ends
    return []


# --- writing ------------------------------------------------------------------------------------

def _clean(v: float, decimals: int) -> float:
    return round(float(v), decimals) + 0.0  # + 0.0 turns -0.0 into 0.0


def _num(v: float, decimals: int = _POS_DECIMALS) -> str:
    """A number as the game writes it: shortest round-trip form, no trailing ``.0``."""
    if math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    text = repr(_clean(v, decimals))
    return text[:-2] if text.endswith(".0") else text


def _xyz(parent: ET.Element, tag: str, v: Sequence[float], decimals: int = _POS_DECIMALS) -> None:
    ET.SubElement(parent, tag, {k: _num(c, decimals) for k, c in zip("xyzw", v, strict=False)})


def _guid(seed: int, index: int) -> str:
    return str(uuid.uuid5(_GUID_NAMESPACE, f"{seed}:{index}"))


def to_bsg(placed: PlacedMachine, *, name: str = "brickfield machine", seed: int = 0) -> str:
    """The ``.bsg`` XML of ``placed`` (see the module docstring for the layout).

    Deterministic: the block guids derive from ``seed`` and the block index, so the same machine
    and seed always give the same text.
    """
    gp = np.array(placed.global_position, dtype=float)
    machine = ET.Element("Machine", {"version": MACHINE_VERSION, "bsgVersion": BSG_VERSION,
                                     "name": _XML_ILLEGAL.sub(" ", name)})
    machine.append(ET.Comment("The machine's position and rotation."))
    glob = ET.SubElement(machine, "Global")
    _xyz(glob, "Position", gp)
    _xyz(glob, "Rotation", (0.0, 0.0, 0.0, 1.0), _QUAT_DECIMALS)
    machine.append(ET.Comment("The machine's additional data or modded data."))
    ET.SubElement(ET.SubElement(machine, "Data"), "StringArray", {"key": "requiredMods"})
    machine.append(ET.Comment("The machine's blocks."))
    blocks = ET.SubElement(machine, "Blocks")
    for i, b in enumerate(placed.blocks):
        el = ET.SubElement(blocks, "Block", {"id": bsg_id(b.type_id), "guid": _guid(seed, i)})
        tr = ET.SubElement(el, "Transform")
        _xyz(tr, "Position", np.array(b.position) - gp)
        _xyz(tr, "Rotation", b.rotation, _QUAT_DECIMALS)
        _xyz(tr, "Scale", (1.0, 1.0, 1.0))
        data = ET.SubElement(el, "Data")
        for entry in block_data(b):
            item = ET.SubElement(data, entry.tag, {"key": entry.key})
            if isinstance(entry.value, tuple):
                for axis, c in zip("XYZ", entry.value, strict=True):
                    ET.SubElement(item, axis).text = _num(c)
            else:
                item.text = entry.value
    ET.indent(machine, space="    ")
    body = ET.tostring(machine, encoding="unicode")
    return '<?xml version="1.0" encoding="utf-8"?>\n<!--Besiege machine save file.-->\n' + body + "\n"


# --- safe reading -------------------------------------------------------------------------------

class _Refused(Exception):
    """Raised inside expat callbacks; turned into a ``BsgParseError`` by ``_safe_xml``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _safe_xml(text: str, max_depth: int, max_elements: int) -> ET.Element:
    """Parse ``text`` with expat, refusing any DTD (hence every entity declaration) and capping
    depth and element count. ElementTree's own parser would expand internal entities."""
    builder = ET.TreeBuilder()
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    depth = 0
    count = 0

    def refuse_dtd(*_: Any) -> None:
        raise _Refused("forbidden_dtd", "DOCTYPE/ENTITY declarations are not allowed in a .bsg file")

    def start(tag: str, attrs: dict[str, str]) -> None:
        nonlocal depth, count
        depth += 1
        count += 1
        if depth > max_depth:
            raise _Refused("too_deep", f"XML nested deeper than {max_depth} elements")
        if count > max_elements:
            raise _Refused("too_large", f"more than {max_elements} XML elements")
        builder.start(tag, attrs)

    def end(tag: str) -> None:
        nonlocal depth
        depth -= 1
        builder.end(tag)

    parser.StartDoctypeDeclHandler = refuse_dtd
    parser.EntityDeclHandler = refuse_dtd
    parser.UnparsedEntityDeclHandler = refuse_dtd
    parser.ExternalEntityRefHandler = refuse_dtd
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = builder.data
    try:
        parser.Parse(text, True)
    except _Refused as exc:
        raise BsgParseError(exc.code, str(exc), parser.CurrentLineNumber,
                            parser.CurrentColumnNumber + 1) from None
    except expat.ExpatError as exc:
        raise BsgParseError("bad_xml", f"malformed XML: {expat.ErrorString(exc.code)}", exc.lineno,
                            exc.offset + 1) from None
    return builder.close()


@dataclass(frozen=True)
class BsgMachine:
    """A ``.bsg`` file as read: header, global pose and the blocks (see ``from_bsg``)."""

    name: str
    version: str
    bsg_version: str
    global_position: tuple[float, float, float]
    global_rotation: tuple[float, float, float, float]
    blocks: tuple[dict[str, Any], ...]


def _floats(el: ET.Element | None, axes: str, what: str, item: int | None) -> list[float]:
    if el is None:
        raise BsgParseError("bad_bsg", f"missing {what}", item=item)
    try:
        vals = [float(el.attrib[a]) for a in axes]
    except (KeyError, ValueError):
        raise BsgParseError("bad_value", f"{what} needs numeric {', '.join(axes)}", item=item) from None
    if not all(math.isfinite(v) for v in vals):
        raise BsgParseError("bad_value", f"{what} must be finite", item=item)
    return vals


def _entry_value(el: ET.Element, item: int) -> str | list[float] | list[str]:
    if el.tag == "Vector3":
        try:
            return [float((el.findtext(a) or "").strip()) for a in "XYZ"]
        except ValueError:
            raise BsgParseError("bad_value", f"Vector3 {short_repr(el.get('key'))} needs numeric X, Y, Z",
                                item=item) from None
    if el.tag == "StringArray" and len(el):  # newer saves list values as <String> children
        return [(c.text or "").strip() for c in el]
    return (el.text or "").strip()


def _read_block(el: ET.Element, i: int) -> dict[str, Any]:
    block_id = el.get("id")
    if not block_id:
        raise BsgParseError("bad_bsg", "Block without an id attribute", item=i)
    tr = el.find("Transform")
    if tr is None:
        raise BsgParseError("bad_bsg", "Block without a Transform", item=i)
    scale = tr.find("Scale")
    data: dict[str, Any] = {}
    types: dict[str, str] = {}
    data_el = el.find("Data")
    for entry in data_el if data_el is not None else ():
        key = entry.get("key")
        if key is not None:
            data[key], types[key] = _entry_value(entry, i), entry.tag
    # BesiegeField's own reader treats a piston saved with preextended=False as the retracted 18_1.
    retracted = block_id == "18" and str(data.get("preextended", "")).lower() == "false"
    return {"id": block_id, "type": "18_1" if retracted else block_id, "guid": el.get("guid", ""),
            "position": _floats(tr.find("Position"), "xyz", "Transform/Position", i),
            "rotation": _floats(tr.find("Rotation"), "xyzw", "Transform/Rotation", i),
            "scale": _floats(scale, "xyz", "Transform/Scale", i) if scale is not None else [1.0, 1.0, 1.0],
            "data": data, "data_types": types}


def parse_bsg(text: str | bytes, *, max_bytes: int = MAX_BSG_BYTES,
              max_blocks: int = MAX_BSG_BLOCKS) -> BsgMachine:
    """Read a ``.bsg`` file safely (see the module docstring). Raises ``BsgParseError``."""
    try:
        text = ensure_text(text, max_bytes, ".bsg input")
    except ParseError as exc:
        raise BsgParseError(exc.code, exc.message) from None
    root = _safe_xml(text, MAX_BSG_DEPTH, MAX_BSG_ELEMENTS)
    if root.tag != "Machine":
        raise BsgParseError("bad_bsg", f"root element is <{root.tag}>, expected <Machine>")
    glob = root.find("Global")
    gp = _floats(glob.find("Position") if glob is not None else None, "xyz", "Global/Position", None)
    gr = _floats(glob.find("Rotation") if glob is not None else None, "xyzw", "Global/Rotation", None)
    blocks_el = root.find("Blocks")
    if blocks_el is None:
        raise BsgParseError("bad_bsg", "missing <Blocks>")
    elements = blocks_el.findall("Block")
    if len(elements) > max_blocks:
        raise BsgParseError("too_many_blocks", f"{len(elements)} blocks, over the limit of {max_blocks}")
    blocks = tuple(_read_block(el, i) for i, el in enumerate(elements))
    return BsgMachine(root.get("name", ""), root.get("version", ""), root.get("bsgVersion", ""),
                      (gp[0], gp[1], gp[2]), (gr[0], gr[1], gr[2], gr[3]), blocks)


def from_bsg(text: str | bytes, *, max_bytes: int = MAX_BSG_BYTES,
             max_blocks: int = MAX_BSG_BLOCKS) -> list[dict[str, Any]]:
    """The blocks of a ``.bsg`` file, in file order.

    Each is ``{"id", "type", "guid", "position" [x,y,z], "rotation" [x,y,z,w], "scale", "data",
    "data_types"}``: ``id`` as written, ``type`` the tree type (``18_1`` for a piston saved with
    ``preextended=False``), position/rotation in the machine frame, ``data`` key -> text (Vector3 ->
    [x, y, z], StringArray with children -> list) and ``data_types`` key -> XML tag. Raises
    ``BsgParseError`` on malformed, hostile or oversized input.
    """
    return [dict(b) for b in parse_bsg(text, max_bytes=max_bytes, max_blocks=max_blocks).blocks]


# --- .bsg -> construction tree ------------------------------------------------------------------

def _global_form(blocks: Sequence[dict[str, Any]], types: Sequence[str]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i, (b, t) in enumerate(zip(blocks, types, strict=True)):
        if any(abs(s - 1.0) > 1e-6 for s in b["scale"]):
            raise BsgParseError("bad_value", "scaled blocks cannot be written as a construction tree",
                                item=i)
        entry: dict[str, Any] = {"id": t, "Position": b["position"], "Rotation": b["rotation"]}
        end = b["data"].get("end-position")
        if t in LINEAR_TYPES and isinstance(end, list):
            if len(end) != 3 or not all(isinstance(c, float) and math.isfinite(c) for c in end):
                # a StringArray or a Vector3 holding NaN/Infinity, not three numbers
                raise BsgParseError("bad_value", "end-position must be a Vector3 of three finite numbers",
                                    item=i)
            # the game stores end B in the block's own frame; BesiegeField's rotation is identity
            entry["end-position"] = besiege_rotate(b["rotation"], end).tolist()
        out.append(entry)
    return out


def bsg_to_tree(text: str | bytes, *, reference_quirks: bool = True, max_pistons: int = 6,
                max_blocks: int = MAX_BLOCKS) -> ConstructionTree:
    """Recover the construction tree of a ``.bsg`` file (via ``placement.tree_from_global``).

    A piston written as id 18 without ``preextended`` may be the extended (18) or retracted (18_1)
    type: up to ``max_pistons`` such pistons are resolved by trying both, preferring the choice whose
    auto-placement reproduces the file's global position (while the combinations times the block
    count stay within ``PISTON_WORK``; beyond that, or past ``max_pistons``, all pistons take one
    type, extended first). Raises ``BsgParseError`` for unreadable
    files (``too_many_blocks`` over ``max_blocks``) and ``TreeParseError`` when the blocks do not
    form a tree (not on attach points, ...).
    """
    machine = parse_bsg(text, max_blocks=max_blocks)
    limits = TreeLimits(max_blocks=max_blocks)
    blocks = machine.blocks
    if not blocks:
        raise BsgParseError("bad_bsg", "the machine has no blocks")
    base = [b["type"] for b in blocks]
    open_pistons = [i for i, b in enumerate(blocks) if b["id"] == "18" and "preextended" not in b["data"]]
    if len(open_pistons) > max_pistons or len(blocks) << len(open_pistons) > PISTON_WORK:
        choices: list[tuple[str, ...]] = [("18",) * len(open_pistons), ("18_1",) * len(open_pistons)]
    else:
        choices = list(itertools.product(("18", "18_1"), repeat=len(open_pistons)))
    first: ConstructionTree | None = None
    error: TreeParseError | None = None
    for choice in choices:
        types = list(base)
        for i, t in zip(open_pistons, choice, strict=True):
            types[i] = t
        try:
            tree = tree_from_global(_global_form(blocks, types), reference_quirks=reference_quirks,
                                    limits=limits)
        except TreeParseError as exc:
            error = error or exc
            continue
        if len(choices) == 1:
            return tree
        first = first or tree
        gp = place(tree, reference_quirks=reference_quirks, max_blocks=max_blocks).global_position
        if np.allclose(gp, machine.global_position, atol=1e-3):
            return tree
    if first is not None:
        return first
    assert error is not None
    raise error
