"""The environment querier: requests for extra per-block feedback, parsed and answered from a trace.

After seeing a simulation, the querier LLM asks for details on chosen blocks (paper App. D.5). Its
output holds a ``<Required Feedback>`` section with a JSON list::

    [{"order_id": 3, "duration": [0.0, 2.0], "properties": ["position", "velocity"]}, ...]

``parse_query`` accepts that section, code fences, a bare list or a single object, trailing commas,
surrounding prose, property aliases (``orientation``, ``speed``...) and a missing ``properties``
(every property that applies). ``answer_query`` answers from the recorded 0.2 s samples within
[start, end]:

* ``position``: block origin (end A for linear blocks, centre for loose blocks), m;
* ``rotation``: quaternion [x, y, z, w], extrinsic xyz Euler angles (deg) and coarse forward axis;
  not for linear blocks (the trace stores no orientation for them);
* ``velocity``: vector (m/s) and speed;
* ``length``: linear blocks only: distance between the two ends. The trace records end A; end B is
  carried by parent B, so it is parent B's pose applied to end B's placement offset in B's frame.

Every failure is a ``QueryError`` (a ``ParseError``) with one of ``QUERY_CODES``; all problems of a
request are collected (``issues``), the first gives the code. ``QueryLimits`` caps the text size,
the number of items and the number of values an answer may hold, and the request's nesting depth.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from brickfield.core.errors import ParseError, ParseIssue
from brickfield.core.textio import ensure_text, max_nesting, short_repr, strip_trailing_commas
from brickfield.machines.design.catalog import LINEAR_TYPES
from brickfield.machines.design.types import PlacedMachine
from brickfield.machines.evaluate import TaskResult
from brickfield.machines.feedback.text import (
    block_name,
    detachment_times,
    facing_label,
    format_series,
    format_vec,
    jsonable,
    quat_rotate,
)
from brickfield.machines.sim.simulate import Episode

__all__ = ["PROPERTIES", "QUERY_CODES", "ItemAnswer", "QueryAnswer", "QueryError", "QueryItem",
           "QueryLimits", "QueryRequest", "answer_query", "parse_query", "validate_query"]

PROPERTIES: tuple[str, ...] = ("position", "rotation", "velocity", "length")
QUERY_CODES: tuple[str, ...] = ("bad_json", "bad_schema", "unknown_order_id", "bad_duration",
                                "unknown_property", "not_applicable", "too_many_items", "too_deep",
                                "too_large")
_ALIASES = {"pos": "position", "positions": "position", "location": "position", "rot": "rotation",
            "rotations": "rotation", "orientation": "rotation", "quaternion": "rotation",
            "vel": "velocity", "velocities": "velocity", "speed": "velocity", "lengths": "length"}
_EPS = 1e-6


class QueryError(ParseError):
    """A querier request that cannot be parsed or answered (``code`` in ``QUERY_CODES``)."""


@dataclass(frozen=True)
class QueryLimits:
    """Caps that keep a hostile request from blowing up parsing or the answer."""

    max_chars: int = 20_000      # request text
    max_items: int = 16          # blocks asked about
    max_values: int = 2_000      # sum over items of samples x properties in one answer
    max_depth: int = 16          # bracket nesting of the request text (a request needs 3)


DEFAULT_LIMITS = QueryLimits()


@dataclass(frozen=True)
class QueryItem:
    """One request: ``properties`` of block ``order_id`` over [start, end] s (None: all that apply)."""

    order_id: int
    start: float
    end: float
    properties: tuple[str, ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"order_id": self.order_id, "duration": [self.start, self.end],
                "properties": list(self.properties) if self.properties is not None else None}


@dataclass(frozen=True)
class QueryRequest:
    """A parsed querier request (syntax checked; ``validate_query`` checks it against a trace)."""

    items: tuple[QueryItem, ...]

    @classmethod
    def parse(cls, source: str | bytes | Sequence[Any] | dict[str, Any],
              limits: QueryLimits = DEFAULT_LIMITS) -> QueryRequest:
        """See ``parse_query``."""
        return parse_query(source, limits)

    def to_dict(self) -> list[dict[str, Any]]:
        return [it.to_dict() for it in self.items]


# --- parsing -------------------------------------------------------------------------------------
_SECTION = re.compile(r"<\s*required[ _-]?feedback\s*>(.*?)(?:<\s*/\s*required[ _-]?feedback\s*>|\Z)",
                      re.IGNORECASE | re.DOTALL)
_FENCE = re.compile(r"```[A-Za-z0-9_+-]*\s*(.*?)(?:```|\Z)", re.DOTALL)


def _decode(text: str, limits: QueryLimits) -> Any:
    """The first JSON list/object in ``text`` (whole text first, then from each ``[``/``{``)."""
    m = _SECTION.search(text)
    if m:
        text = m.group(1)
    f = _FENCE.search(text)
    if f:
        text = f.group(1)
    text = text.strip()
    if not text:
        raise QueryError("bad_json", "no JSON found in the request")
    # json recurses per nesting level: refuse deep nesting before any decoder sees it
    if max_nesting(text) > limits.max_depth:
        raise QueryError("too_deep", f"the request nests deeper than {limits.max_depth} levels")
    first_err: Exception | None = None
    for candidate in (text, strip_trailing_commas(text)):
        try:
            return json.loads(candidate)
        except (ValueError, RecursionError) as exc:
            first_err = first_err or exc
    dec = json.JSONDecoder()
    for k in [k for k, ch in enumerate(text) if ch in "[{"][:20]:   # JSON inside prose
        try:
            value, _ = dec.raw_decode(strip_trailing_commas(text[k:]))
        except (ValueError, RecursionError, IndexError):
            continue
        if isinstance(value, (list, dict)):
            return value
    raise QueryError("bad_json", f"request is not valid JSON: {first_err}")


# An order_id written as a string: ASCII digits only (``\d`` and ``\s`` would also match other
# scripts' digits and separators such as U+001F, which ``int`` then refuses).
_INT_TEXT = re.compile(r"[ \t\r\n]*-?[0-9]{1,9}[ \t\r\n]*", re.ASCII)
_MAX_ORDER_ID = 10**9


def _order_id(value: Any) -> int | None:
    """``value`` as an order_id (int, integral float, digit string; |id| < 1e9), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and _INT_TEXT.fullmatch(value):
        return int(value.strip())
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and abs(value) < _MAX_ORDER_ID:
        return value
    return None


def _number(v: Any) -> float | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float, str)):
        try:
            return float(v.strip() if isinstance(v, str) else v)
        except (ValueError, OverflowError):
            return None
    return None


def _item(k: int, d: Any, issues: list[ParseIssue]) -> QueryItem | None:
    def bad(code: str, msg: str) -> None:
        issues.append(ParseIssue(code, msg, item=k))

    if not isinstance(d, dict):
        return bad("bad_schema", "each item must be an object with order_id, duration and properties")
    raw = d.get("order_id")
    oid = _order_id(raw)
    if oid is None:
        return bad("bad_schema", "order_id (an integer) is missing" if raw is None else
                   f"order_id must be an integer below 1e9, not {short_repr(raw)}")
    dur = d.get("duration")
    if not isinstance(dur, (list, tuple)) or len(dur) != 2 or None in (nums := [_number(v) for v in dur]):
        return bad("bad_schema", "duration must be [start, end] in seconds")
    start, end = nums
    assert start is not None and end is not None
    if not (math.isfinite(start) and math.isfinite(end)) or start < 0 or end < 0:
        return bad("bad_duration", f"duration [{short_repr(dur[0])}, {short_repr(dur[1])}] must be finite, "
                   "non-negative seconds")
    if start > end:
        return bad("bad_duration", f"duration start {start:g} s is after its end {end:g} s")
    props = d.get("properties")
    if props is None:
        return QueryItem(oid, start, end, None)
    if isinstance(props, str):
        props = [props]
    if not isinstance(props, (list, tuple)) or not props or not all(isinstance(p, str) for p in props):
        return bad("bad_schema", "properties must be a non-empty list of names")
    names: list[str] = []
    for p in props:
        key = p.strip().lower()
        key = _ALIASES.get(key, key)
        if key not in PROPERTIES:
            return bad("unknown_property", f"unknown property {p[:40]!r}; use {', '.join(PROPERTIES)}")
        if key not in names:
            names.append(key)
    return QueryItem(oid, start, end, tuple(names))


def parse_query(source: str | bytes | Sequence[Any] | dict[str, Any],
                limits: QueryLimits = DEFAULT_LIMITS) -> QueryRequest:
    """Parse a querier request (text, JSON text or already-decoded data). Raises ``QueryError``."""
    if isinstance(source, (str, bytes, bytearray)):
        # ensure_text: the byte cap (4 bytes per character at most), BOM, lone surrogates
        try:
            text = ensure_text(source, 4 * limits.max_chars, "request")
        except ParseError:
            text = None
        if text is None or len(text) > limits.max_chars:
            size = len(source) if text is None else len(text)
            raise QueryError("too_large", f"request is {size} characters, over the limit "
                             f"of {limits.max_chars}")
        data = _decode(text, limits)
    else:
        data = source
    if isinstance(data, dict):
        lists = [v for v in data.values() if isinstance(v, list)]
        data = [data] if "order_id" in data or len(lists) != 1 else lists[0]
    if not isinstance(data, (list, tuple)):
        raise QueryError("bad_schema", "request must be a list of {order_id, duration, properties}")
    if len(data) > limits.max_items:
        raise QueryError("too_many_items", f"{len(data)} items requested; at most {limits.max_items}")
    issues: list[ParseIssue] = []
    items = [_item(k, d, issues) for k, d in enumerate(data)]
    if issues:
        raise QueryError.from_issues(issues)
    return QueryRequest(tuple(it for it in items if it is not None))


# --- answering -----------------------------------------------------------------------------------
Vec = tuple[float, float, float]


@dataclass(frozen=True)
class ItemAnswer:
    """The requested series of one block (unrounded floats; None: not requested)."""

    order_id: int
    type_id: str
    name: str
    start: float
    end: float
    times: tuple[float, ...]
    position: tuple[Vec, ...] | None = None
    rotation: tuple[tuple[float, float, float, float], ...] | None = None
    euler: tuple[Vec, ...] | None = None           # extrinsic xyz, degrees
    facing: tuple[str, ...] | None = None          # coarse forward (+z) axis
    velocity: tuple[Vec, ...] | None = None
    speed: tuple[float, ...] | None = None
    length: tuple[float, ...] | None = None
    detached_at: float | None = None


@dataclass(frozen=True)
class QueryAnswer:
    """Answers to every item of a request, plus their text."""

    items: tuple[ItemAnswer, ...]
    text: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict (lists, not tuples)."""
        return jsonable(asdict(self))


def _plan(req: QueryRequest, ep: Episode, placed: PlacedMachine | None, limits: QueryLimits,
          clip: bool) -> list[tuple[int, np.ndarray, tuple[str, ...], float, float]]:
    """(block index, sample indices, properties, start, end) per item; raises on any problem."""
    t = ep.times
    if not len(t):
        raise QueryError("bad_duration", "the episode has no samples to query")
    t0, t1 = float(t[0]), float(t[-1])
    index = {o: i for i, o in enumerate(ep.order_ids)}
    issues: list[ParseIssue] = []
    plans = []
    total = 0
    for k, it in enumerate(req.items):
        def bad(code: str, msg: str, k: int = k) -> None:
            issues.append(ParseIssue(code, msg, item=k))

        i = index.get(it.order_id)
        if i is None:
            known = f"order_ids {min(index)}-{max(index)}" if index else "no blocks"
            bad("unknown_order_id", f"no block with order_id {it.order_id} (the machine has {known})")
            continue
        start, end = (max(it.start, t0), min(it.end, t1)) if clip else (it.start, it.end)
        if start > t1 + _EPS or end > t1 + _EPS or end < t0 - _EPS:
            bad("bad_duration", f"duration [{it.start:g}, {it.end:g}] s is outside the episode "
                f"[{t0:g}, {t1:g}] s")
            continue
        sel = np.flatnonzero((t >= start - _EPS) & (t <= end + _EPS))
        if not len(sel):
            bad("bad_duration", f"no sample in [{start:g}, {end:g}] s (samples every "
                f"{float(np.median(np.diff(t))) if len(t) > 1 else 0:g} s)")
            continue
        linear = ep.type_ids[i] in LINEAR_TYPES
        props = it.properties
        if props is None:
            props = ("position", "velocity") + (("length",) if placed else ()) if linear \
                else ("position", "rotation", "velocity")
        for p in props:
            if p == "length" and not linear:
                bad("not_applicable", f"length applies only to linear blocks (brace, rubber band, "
                    f"winch); order_id {it.order_id} is a {block_name(ep.type_ids[i])}")
            elif p == "length" and placed is None:
                bad("not_applicable", "length needs the placed machine (pass placed=)")
            elif p == "rotation" and linear:
                bad("not_applicable", f"order_id {it.order_id} is a linear block: it has no recorded "
                    f"orientation (ask for position or length)")
        total += len(sel) * len(props)
        plans.append((i, sel, props, start, end))
    if issues:
        raise QueryError.from_issues(issues)
    if total > limits.max_values:
        raise QueryError("too_many_items", f"the answer would hold {total} values, over the limit of "
                         f"{limits.max_values}; ask for fewer blocks, properties or a shorter duration")
    return plans


def validate_query(request: QueryRequest, source: TaskResult | Episode, placed: PlacedMachine | None = None,
                   *, limits: QueryLimits = DEFAULT_LIMITS, clip: bool = False) -> None:
    """Check ``request`` against a trace without answering it (raises ``QueryError``)."""
    ep, placed = _source(source, placed)
    _plan(request, ep, placed, limits, clip)


def _source(source: TaskResult | Episode,
            placed: PlacedMachine | None) -> tuple[Episode, PlacedMachine | None]:
    if isinstance(source, TaskResult):
        placed = placed if placed is not None else getattr(source.report, "machine", None)
        if source.episode is None:
            raise QueryError("not_applicable", "the machine was not simulated: there is no trace to query")
        source = source.episode
    return source, placed if placed is not None and len(placed.blocks) == len(source.order_ids) else None


def _euler_xyz(q: np.ndarray) -> np.ndarray:
    """Extrinsic xyz Euler angles (deg) of quaternions (..., 4) [x, y, z, w]."""
    ex = quat_rotate(q, np.array([1.0, 0.0, 0.0]))
    ey = quat_rotate(q, np.array([0.0, 1.0, 0.0]))
    ez = quat_rotate(q, np.array([0.0, 0.0, 1.0]))
    # columns of R are the rotated axes: R[2,0] = ex.z, R[2,1] = ey.z, R[2,2] = ez.z, R[1,0] = ex.y
    b = np.arcsin(np.clip(-ex[..., 2], -1.0, 1.0))
    a = np.arctan2(ey[..., 2], ez[..., 2])
    c = np.arctan2(ex[..., 1], ex[..., 0])
    return np.degrees(np.stack([a, b, c], axis=-1))


def _linear_length(ep: Episode, placed: PlacedMachine, i: int) -> np.ndarray:
    """(T,) distance between the two ends of linear block ``i`` (end B follows parent B's pose)."""
    b = placed.blocks[i]
    if b.position_b is None or len(b.parents) < 2:
        return np.full(len(ep.times), np.nan)
    pb = placed.blocks[b.parents[1]]
    off = quat_rotate(np.array([-pb.rotation[0], -pb.rotation[1], -pb.rotation[2], pb.rotation[3]]),
                      np.array(b.position_b) - np.array(pb.position))
    end_b = ep.positions[:, pb.index] + quat_rotate(ep.rotations[:, pb.index], off)
    return np.linalg.norm(end_b - ep.positions[:, i], axis=1)


def _tuples(a: np.ndarray) -> tuple[Any, ...]:
    return tuple(tuple(float(x) for x in row) for row in a)


def answer_query(request: QueryRequest | str | bytes | Sequence[Any] | dict[str, Any],
                 source: TaskResult | Episode, placed: PlacedMachine | None = None, *,
                 limits: QueryLimits = DEFAULT_LIMITS, clip: bool = False) -> QueryAnswer:
    """Answer ``request`` from the trace of ``source`` (``placed`` defaults to ``source.report``'s).

    ``clip=True`` clips durations to the episode instead of rejecting ends past it. Raises
    ``QueryError`` for any bad item (all problems listed in ``issues``)."""
    req = request if isinstance(request, QueryRequest) else parse_query(request, limits)
    if len(req.items) > limits.max_items:
        raise QueryError("too_many_items", f"{len(req.items)} items requested; at most {limits.max_items}")
    ep, placed = _source(source, placed)
    plans = _plan(req, ep, placed, limits, clip)
    det = detachment_times(ep, placed)
    answers = []
    for i, sel, props, start, end in plans:
        vals: dict[str, Any] = {}
        if "position" in props:
            vals["position"] = _tuples(ep.positions[sel, i])
        if "rotation" in props:
            q = ep.rotations[sel, i]
            vals["rotation"] = _tuples(q)
            vals["euler"] = _tuples(_euler_xyz(q))
            vals["facing"] = tuple(facing_label(v) for v in quat_rotate(q, np.array([0.0, 0.0, 1.0])))
        if "velocity" in props:
            vals["velocity"] = _tuples(ep.velocities[sel, i])
            vals["speed"] = tuple(float(s) for s in np.linalg.norm(ep.velocities[sel, i], axis=1))
        if "length" in props and placed is not None:
            vals["length"] = tuple(float(x) for x in _linear_length(ep, placed, i)[sel])
        answers.append(ItemAnswer(ep.order_ids[i], ep.type_ids[i], block_name(ep.type_ids[i]), start, end,
                                  tuple(float(x) for x in ep.times[sel]),
                                  detached_at=float(det[i]) if np.isfinite(det[i]) else None, **vals))
    return QueryAnswer(tuple(answers), _render(answers))


def _render(answers: Sequence[ItemAnswer]) -> str:
    out = ["[Required feedback]" + ("" if answers else " nothing requested")]
    for a in answers:
        times = np.array(a.times)
        out.append(f"Block {a.name} (order_id {a.order_id}, type {a.type_id}), {a.start:g}-{a.end:g} s, "
                   f"{len(times)} samples")
        if a.detached_at is not None:
            when = "before" if a.detached_at <= a.end + _EPS else "after"
            out.append(f"- off the machine from {a.detached_at:.2f} s ({when} the end of this window)")
        if a.position is not None:
            out.append("- position (x, y, z) m:")
            out.append(format_series(times, [format_vec(p) for p in a.position]))
        if a.rotation is not None and a.euler is not None and a.facing is not None:
            out.append("- rotation: quaternion [x, y, z, w] | euler xyz (deg) | forward axis:")
            cells = [f"[{format_vec(q, 3)[1:-1]}] {format_vec(e, 0)} {f}"
                     for q, e, f in zip(a.rotation, a.euler, a.facing, strict=True)]
            out.append(format_series(times, cells, per_line=2))
        if a.velocity is not None and a.speed is not None:
            out.append("- velocity (vx, vy, vz) m/s | speed m/s:")
            out.append(format_series(times, [f"{format_vec(v)} {s:.2f}"
                                             for v, s in zip(a.velocity, a.speed, strict=True)], per_line=4))
        if a.length is not None:
            out.append("- length (distance between the two ends) m:")
            out.append(format_series(times, [f"{x:.2f}" for x in a.length], per_line=10))
    return "\n".join(out)
