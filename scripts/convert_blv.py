#!/usr/bin/env python3
"""Developer tool: re-encode BesiegeField's level files as brickfield level JSON.

Reads the reference ``*.blv`` level XML files and ``level_menus.json`` and writes one JSON file per
level in brickfield's own schema (``docs/levels.md``) to ``src/brickfield/machines/levels/data/``::

    .venv/bin/python scripts/convert_blv.py /path/to/env_files            # write the JSON files
    .venv/bin/python scripts/convert_blv.py /path/to/env_files --check    # exit 1 if they differ
    .venv/bin/python scripts/convert_blv.py /path/to/env_files --summary  # markdown level table

``env_files`` is the folder holding ``levels/*.blv`` (or the ``.blv`` files directly) and
``level_menus.json``. Only facts are taken over (positions, sizes, rotations, ids, durations, key
timings, block limits, task statements); the output is validated with
``brickfield.machines.levels.schema``. The package never imports this script.

Conventions (evidence in ``docs/levels.md``): every prefab listed in ``PREFABS`` is a base shape
scaled by the object's ``Scale``; its pivot (the XML ``Position``) is the centre of the bottom face
for most prefabs, the bottom of the back (+z) face for ramps, quarter-pipes and quarter-cylinders,
and the centre for rings and the ore. We write the centre of the oriented bounding box,
``center = position + R(rotation) · (pivot ⊙ size)``.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT_DIR = ROOT / "src" / "brickfield" / "machines" / "levels" / "data"
TASK_ORDER = ("car", "catapult", "delivery", "fetch")
TAP_SECONDS = 0.05        # a key switched on and off with no sleep in between (fetch "V")
DEFAULT_SPAWN_Y = 5.05    # BesiegeField's machine auto-placement assumes a spawn at y = 5.05
DECIMALS = 6


@dataclass(frozen=True)
class Prefab:
    """What a level-editor prefab id is and how to turn its Position/Scale into a primitive."""

    label: str                          # our name for it
    role: str                           # obstacle | trigger | goal | spawn | wind | npc | ignore
    shape: str = "box"                  # box | cylinder | sphere | cone | wedge | mesh
    mesh: str | None = None             # quarter_pipe | quarter_cylinder | ring (shape == "mesh")
    base: tuple[float, float, float] = (1.0, 1.0, 1.0)   # size at Scale (1, 1, 1)
    pivot: tuple[float, float, float] = (0.0, 0.5, 0.0)  # bbox centre - pivot, local, in sizes
    approximate: bool = False
    source: str = ""


_RING_R, _RING_TUBE = 5.0, 0.5
_BACK = (0.0, 0.5, -0.5)   # pivot at the bottom of the back (+z) face
PREFABS: dict[int, Prefab] = {
    7000: Prefab("cube", "obstacle", source="unit cube; walls' Scale spans match the level layout"),
    7103: Prefab("ramp", "obstacle", "wedge", pivot=_BACK, approximate=True,
                 source="straight ramp assumed (low edge at local -z, pivot at the bottom of its high "
                        "back face); fits the car_level5 and delivery_level6/7 layouts"),
    7104: Prefab("quarter_pipe", "obstacle", "mesh", "quarter_pipe", pivot=_BACK, approximate=True,
                 source="named 'Quarter-pipe' in the level files; concave, low edge at local -z, pivot "
                        "at the bottom of its high back face (fits car_level5, delivery_level9)"),
    7116: Prefab("quarter_cylinder", "obstacle", "mesh", "quarter_cylinder", pivot=_BACK,
                 approximate=True,
                 source="named 'Quarter-Cylinder' in the level files; convex quarter disc, right-angle "
                        "corner (pivot) at the bottom back edge (fits the car_level5 corner fillets)"),
    9027: Prefab("low_cone", "obstacle", "cone", approximate=True,
                 source="the task statements call it a low, elongated cone; unit base assumed"),
    9040: Prefab("cone", "obstacle", "cone", approximate=True,
                 source="'Cone' in items_library.json; unit base and height assumed"),
    10003: Prefab("ring", "obstacle", "mesh", "ring",
                  (2 * (_RING_R + _RING_TUBE), 2 * _RING_TUBE, 2 * (_RING_R + _RING_TUBE)),
                  (0.0, 0.0, 0.0), True,
                  "ring (torus, axis local y); radius 5 from the rim triggers, tube 0.5 from its height"),
    7014: Prefab("iron_ore", "goal", "sphere", pivot=(0.0, 0.0, 0.0), approximate=True,
                 source="reported as GOAL_IronOre; the task statements call it an iron ball; unit "
                        "base and centre pivot assumed (it is dynamic and settles under gravity)"),
    9003: Prefab("trigger", "trigger", base=(10.0, 10.0, 10.0), approximate=True,
                 source="logic trigger volume; 10 m base fits every goal zone (track ends, ring holes)"),
    5001: Prefab("npc_a", "npc", "cylinder", base=(0.6, 1.8, 0.6), approximate=True,
                 source="unit/character (5000 range, 'look' setting); size and mass guessed"),
    5003: Prefab("npc_b", "npc", "cylinder", base=(0.6, 1.8, 0.6), approximate=True,
                 source="unit/character (5000 range, 'look' setting); size and mass guessed"),
    9001: Prefab("spawn", "spawn"),
    8004: Prefab("wind", "wind"),
    9002: Prefab("text", "ignore", source="floating text label (bmt-textline0); no physics"),
    7003: Prefab("unknown_far", "ignore", source="unidentified, ~970 m from the arena; no effect"),
}
NPC_MASS = 1.0

MISSING_PROMPTS = {
    "delivery_level5": "There is an iron ball on a straight track with a figure standing on the track "
                       "beside it. Design a machine that can move forward on the straight track and "
                       "deliver the iron ball to the end.",
    "delivery_level6": "There is an iron ball on a straight track. Ahead of it there is a short ramp "
                       "leading up onto a low block, with a figure standing on top. Design a machine "
                       "that can move forward on the straight track and deliver the iron ball to the end.",
    "delivery_level7": "There is an iron ball on a straight track. Ahead of it there is a short ramp "
                       "leading up onto a low block, with a figure standing on top. Design a machine "
                       "that can move forward on the straight track and deliver the iron ball to the end.",
}
PROMPT_FIXES = (  # light rewording of typos; the task statements themselves are kept
    (re.compile(r"(\w) - (\w)"), r"\1-\2"),
    (re.compile(r"Design a machine can "), "Design a machine that can "),
    (re.compile(r"The automatic control pipeline can let the machine drive near the well and use "
                r"component to get the ball out\(if you have used right blocks\)\."),
     "An automatic control script drives the machine near the well and then operates its "
     "components to get the ball out (if the right blocks are used)."),
    (re.compile(r"There is a deep well, inside the well,"), "There is a deep well; inside the well"),
)


# --- small numerics ------------------------------------------------------------------------------

def _r(x: float, nd: int = DECIMALS) -> float:
    v = round(float(x), nd)
    return 0.0 if v == 0 else v


def _vec(v: Any, nd: int = DECIMALS) -> list[float]:
    return [_r(x, nd) for x in v]


def _quat(q: tuple[float, ...] | None) -> list[float]:
    if q is None:
        return [0.0, 0.0, 0.0, 1.0]
    n = math.sqrt(sum(c * c for c in q))
    q = tuple(0.0 if abs(c / n) < 1e-6 else c / n for c in q)
    n = math.sqrt(sum(c * c for c in q))
    return _vec((c / n for c in q), 7)


def _rotate(q: list[float], v: tuple[float, float, float]) -> tuple[float, float, float]:
    """Rotate ``v`` by the unit quaternion ``q`` = [x, y, z, w]."""
    x, y, z, w = q
    tx, ty, tz = 2 * (y * v[2] - z * v[1]), 2 * (z * v[0] - x * v[2]), 2 * (x * v[1] - y * v[0])
    return (v[0] + w * tx + y * tz - z * ty, v[1] + w * ty + z * tx - x * tz,
            v[2] + w * tz + x * ty - y * tx)


# --- .blv parsing --------------------------------------------------------------------------------

def _xyz(el: ET.Element | None, keys: str = "xyz") -> tuple[float, ...] | None:
    return None if el is None else tuple(float(el.get(k, "0")) for k in keys)


def _data(obj: ET.Element) -> dict[str, Any]:
    out: dict[str, Any] = {}
    data = obj.find("Data")
    for d in data if data is not None else ():
        key = d.get("key", "")
        if d.tag == "StringArray":
            out[key] = [s.text or "" for s in d]
        elif d.tag in ("Single", "Integer"):
            out[key] = float(d.text or 0)
        elif d.tag == "Boolean":
            out[key] = (d.text or "").strip() == "True"
        else:
            out[key] = (d.text or "").strip()
    return out


def read_blv(path: Path) -> list[dict[str, Any]]:
    """The objects of a level file: prefab id, object id, position, rotation, scale, data."""
    root = ET.fromstring(path.read_text(encoding="utf-8-sig"))
    return [{"prefab": int(o.get("Prefab", "0")), "id": o.get("ID", ""),
             "position": _xyz(o.find("Position")), "rotation": _xyz(o.find("Rotation"), "xyzw"),
             "scale": _xyz(o.find("Scale")) or (1.0, 1.0, 1.0), "data": _data(o)}
            for o in root.iter("Object")]


# --- menus: duration and key schedule -----------------------------------------------------------

def parse_instructions(instructions: list[str]) -> tuple[float, float, dict[str, list[list[float]]]]:
    """Translate a menu's control script into (duration, waiting_stop, key spans).

    Time starts at ``ToggleSimulate``; ``sleep N`` before it is wall-clock set-up and ignored, after
    it advances the clock; ``SwitchKey:K_T``/``K_F`` open/close a span of key K (a press and release
    with no sleep between them becomes a tap of ``TAP_SECONDS``); ``WaitingStop N`` ends the episode
    N seconds later and closes spans still held.
    """
    t: float | None = None
    held: dict[str, float] = {}
    spans: dict[str, list[list[float]]] = {}
    wait = 0.0
    for ins in instructions:
        ins = ins.strip()
        if ins.startswith("ToggleSimulate"):
            t = 0.0
        elif ins.startswith("sleep") and t is not None:
            t += float(ins.split()[1])
        elif ins.startswith("SwitchKey:") and t is not None:
            key, state = ins.split(":", 1)[1].rsplit("_", 1)
            if state == "T":
                held.setdefault(key, t)
            elif key in held:
                start = held.pop(key)
                spans.setdefault(key, []).append([start, t if t > start else start + TAP_SECONDS])
        elif ins.startswith("WaitingStop"):
            wait = float(ins.split()[1])
    end = (t or 0.0) + wait
    for key, start in held.items():
        spans.setdefault(key, []).append([start, end])
    return end, wait, {k: [[_r(a), _r(b)] for a, b in v] for k, v in sorted(spans.items())}


def fix_prompt(text: str) -> str:
    for pattern, repl in PROMPT_FIXES:
        text = pattern.sub(repl, text)
    return text


# --- objects -> primitives ----------------------------------------------------------------------

def _geometry(obj: dict[str, Any], pf: Prefab) -> dict[str, Any]:
    q = _quat(obj["rotation"])
    size = tuple(s * b for s, b in zip(obj["scale"], pf.base, strict=True))
    off = _rotate(q, tuple(p * s for p, s in zip(pf.pivot, size, strict=True)))
    center = tuple(p + o for p, o in zip(obj["position"], off, strict=True))
    return {"center": _vec(center), "size": _vec(size), "rotation": q, "origin": _vec(obj["position"])}


def _target(spec: str, names_by_id: dict[str, str]) -> str:
    """``'43341|Picker|Entity|7014|0|<id>'`` -> ``'object:iron_ore'`` and so on."""
    parts = spec.split("|")[1:]
    if parts[:1] == ["Anything"]:
        return "anything"
    if parts[:1] == ["AnyBlock"]:
        return "any_block"
    if parts[:2] == ["Picker", "Entity"]:
        return f"object:{names_by_id.get(parts[-1], 'prefab' + parts[2])}"
    if parts[:2] == ["Picker", "Block"]:
        return f"block:{parts[2]}"
    return "raw:" + "|".join(parts)


def _event(spec: str) -> str:
    """``'21015|GameWin|Progress'`` -> ``'game_win:Progress'``;
    ``'21015|Progress|50|0'`` -> ``'progress:50:0'``."""
    kind, *args = spec.split("|")[1:]
    snake = re.sub(r"(?<!^)(?=[A-Z])", "_", kind).lower()
    return ":".join([snake, *args])


def convert_level(name: str, objects: list[dict[str, Any]], menu: dict[str, Any]) -> dict[str, Any]:
    """One level in brickfield's schema (see ``docs/levels.md``)."""
    task, number = name.split("_level")
    duration, wait, schedule = parse_instructions(menu["instructions"])
    counters: dict[str, int] = {}
    names_by_id: dict[str, str] = {}
    spawn, wind = None, None
    obstacles, triggers, goals, ignored = [], [], [], []
    for obj in objects:
        pf = PREFABS.get(obj["prefab"])
        if pf is None:
            raise SystemExit(f"{name}: unmapped prefab {obj['prefab']}; add it to PREFABS")
        k = counters[pf.label] = counters.get(pf.label, -1) + 1
        oname = f"{pf.label}_{k}" if pf.role not in ("goal",) or k else pf.label
        names_by_id[obj["id"]] = oname
        data = obj["data"]
        if pf.role == "spawn":
            spawn = _vec(obj["position"])
        elif pf.role == "wind":
            q = _quat(obj["rotation"])
            wind = {"direction": _vec(_rotate(q, (0.0, 0.0, 1.0))), "strength": None,
                    "global": bool(data.get("bmt-lel-global", False)), "origin": _vec(obj["position"]),
                    "approximate": True,
                    "source": "prefab 8004; blows along its local +z; strength not stored (editor default)"}
        elif pf.role == "ignore":
            ignored.append({"prefab": obj["prefab"], "origin": _vec(obj["position"]), "reason": pf.source})
        elif pf.role == "goal":
            g = _geometry(obj, pf)
            goals.append({"name": oname, "prefab": obj["prefab"], "shape": pf.shape, **g,
                          "mass": data.get("bmt-lel-mass"), "density": data.get("bmt-density"),
                          "reported_as": f"GOAL_{menu.get('target_name', 'IronOre')}",
                          "approximate": pf.approximate, "source": pf.source})
        elif pf.role == "trigger":
            triggers.append({"name": oname, **_geometry(obj, pf),
                             "on": str(data.get("lel-logic0-type", "")).lower(),
                             "_targets": data.get("lel-logic0-targets", []),
                             "events": [_event(e) for e in data.get("lel-logic0-events", [])],
                             "logic_id": int(data.get("lel-logic0-id", 0)),
                             "approximate": pf.approximate, "source": pf.source})
        else:
            physics = data.get("bmt-lel-enable-physics")
            npc = pf.role == "npc"
            dynamic = bool(physics) or npc
            mass = data.get("bmt-lel-mass") if dynamic and not npc else (NPC_MASS if npc else None)
            obstacles.append({"name": oname, "prefab": obj["prefab"], "shape": pf.shape, "mesh": pf.mesh,
                              **_geometry(obj, pf), "friction": data.get("bmt-friction"),
                              "friction_mode": data.get("bmt-friction-mode"), "dynamic": dynamic,
                              "mass": mass, "physics_flag": physics, "approximate": pf.approximate,
                              "source": pf.source if pf.approximate else None})
    for trig in triggers:
        targets = [_target(s, names_by_id) for s in trig.pop("_targets")]
        trig["target"] = targets[0] if len(targets) == 1 else ",".join(targets)
    if spawn is None:
        raise SystemExit(f"{name}: no spawn point (prefab 9001)")
    prompt = menu.get("deafult_prompt") or menu.get("default_prompt")
    notes = []
    if prompt is None:
        prompt = MISSING_PROMPTS[name]
        notes.append("menu has no prompt or block list: prompt written by brickfield, blocks = delivery set")
    blocks = menu.get("block_limitations")
    if blocks is None:
        blocks = [0, 1, 2, 9, 15, 16, 22, 27, 35, 41, 63]
    ground = 0.0
    surface = _r(spawn[1] - DEFAULT_SPAWN_Y + 0.0)
    terrain_note = "flat ground plane at y = 0 (Environment=None)"
    if surface:
        plat = max((o for o in obstacles if o["size"][1] <= 0.2), key=lambda o: o["center"][1], default=None)
        surface = _r(plat["center"][1] + plat["size"][1] / 2) if plat else surface
        terrain_note += f"; the spawn stands on a raised platform whose top is at y = {surface}"
    return {
        "schema_version": 1, "task": task, "number": int(number),
        "duration": _r(duration), "waiting_stop": _r(wait), "schedule": schedule,
        "wheels_automatic": bool(menu.get("WHEEL_AUTO_ON", True)),
        "allowed_blocks": [str(b) for b in sorted(blocks)], "prompt": fix_prompt(prompt),
        "prompt_source": "brickfield" if notes else "reference (lightly reworded)",
        "win_condition": menu["win_condition"], "target_name": menu.get("target_name"),
        "spawn": spawn, "terrain": {"ground_y": ground, "spawn_surface_y": surface, "notes": terrain_note},
        "obstacles": obstacles, "triggers": triggers, "goal_objects": goals, "wind": wind,
        "ignored": ignored, "notes": notes,
        "source": {"blv": f"{name}.blv", "menu": f"{task}/{name}"},
    }


# --- output --------------------------------------------------------------------------------------

def dumps(obj: Any, indent: int = 0) -> str:
    """JSON with objects one key per line and lists of scalars kept on one line."""
    pad, inner = "  " * indent, "  " * (indent + 1)
    if isinstance(obj, dict):
        if not obj:
            return "{}"
        items = [f"{inner}{json.dumps(k)}: {dumps(v, indent + 1)}" for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(obj, list) and any(isinstance(v, dict | list) for v in obj):
        if all(isinstance(v, list) and not any(isinstance(x, dict | list) for x in v) for v in obj):
            return "[" + ", ".join(dumps(v) for v in obj) + "]"
        return "[\n" + ",\n".join(inner + dumps(v, indent + 1) for v in obj) + "\n" + pad + "]"
    if isinstance(obj, list):
        return "[" + ", ".join(json.dumps(v, ensure_ascii=False) for v in obj) + "]"
    return json.dumps(obj, ensure_ascii=False)


def find_levels(env_files: Path) -> dict[str, Path]:
    folder = env_files / "levels" if (env_files / "levels").is_dir() else env_files
    found = {p.stem: p for p in folder.rglob("*.blv")}
    return {k: found[k] for k in sorted(found, key=_level_key) if k.split("_level")[0] in TASK_ORDER}


def _level_key(name: str) -> tuple[int, int]:
    task, num = name.split("_level")
    return (TASK_ORDER.index(task) if task in TASK_ORDER else 99, int(num))


def convert_all(env_files: Path) -> dict[str, dict[str, Any]]:
    menus = json.loads((env_files / "level_menus.json").read_text(encoding="utf-8"))
    out = {}
    for name, path in find_levels(env_files).items():
        task = name.split("_level")[0]
        out[name] = convert_level(name, read_blv(path), menus[f"{task}/{name}"])
    return out


def summary(levels: dict[str, dict[str, Any]]) -> str:
    """A markdown table of the levels (pasted into docs/levels.md)."""
    rows = ["| level | duration s | keys | obstacles | triggers | goal | wind |",
            "|---|---|---|---|---|---|---|"]
    for name, lv in levels.items():
        counts: dict[str, int] = {}
        for o in lv["obstacles"]:
            label = re.sub(r"_\d+$", "", o["name"])
            counts[label] = counts.get(label, 0) + 1
        obs = ", ".join(f"{n}×{c}" for c, n in sorted(((c, n) for n, c in counts.items()), reverse=True))
        keys = "; ".join(f"{k} {v}" for k, v in lv["schedule"].items()) or "-"
        wind = "down" if lv["wind"] else "-"
        goal = ", ".join(g["name"] for g in lv["goal_objects"]) or "-"
        rows.append(f"| {name} | {lv['duration']:g} | {keys} | {obs or '-'} | {len(lv['triggers'])} "
                    f"| {goal} | {wind} |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("env_files", type=Path, help="folder with levels/*.blv and level_menus.json")
    ap.add_argument("--out", type=Path, default=OUT_DIR)
    ap.add_argument("--check", action="store_true", help="compare with --out instead of writing")
    ap.add_argument("--summary", action="store_true", help="print a markdown table of the levels")
    args = ap.parse_args(argv)
    levels = convert_all(args.env_files)
    sys.path.insert(0, str(ROOT / "src"))
    from brickfield.machines.levels.schema import validate_level_dict

    stale = []
    for name, lv in levels.items():
        validate_level_dict(lv)
        path = args.out / f"{name}.json"
        text = dumps(lv) + "\n"
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        elif not args.summary:
            args.out.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    if args.summary:
        print(summary(levels))
    if stale:
        print("out of date: " + ", ".join(stale), file=sys.stderr)
        return 1
    if not args.summary:
        print(f"{'checked' if args.check else 'wrote'} {len(levels)} levels in {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
