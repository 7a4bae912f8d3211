"""Reference machines shipped as package data (``machines/data/machines/<name>.json``)."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["REFERENCE_MACHINES", "reference_machine"]

REFERENCE_MACHINES: dict[str, str] = {
    "car": "log chassis with four powered wheels (the verified BesiegeField car); >= 30 m on car 1",
    "catapult": "ballasted base, hinge arm pointing back with container and boulder, rubber band "
                "from a front post; scores > 0 on catapult 1",
    "car_wheels_down": "negative control: wheels facing y- (flat on the ground, no traction)",
    "car_no_wheels": "negative control: chassis without wheels",
    "catapult_no_boulder": "negative control: the reference catapult without its boulder",
    "delivery": "6 m log chassis on six powered wheels with a grabber on the nose: it grabs the iron "
                "ore on contact and carries it; ~0.67 on delivery 1 (the plain car pushes it: 0.48), "
                "wins delivery 5",
    "delivery_no_wheels": "negative control: the delivery machine without wheels (never reaches the ore)",
    "fetch": "crane: wheels on a foot 4 m under the root (so the linear-block phantom lifts it only "
             "0.05 m), a 9 m boom on a riser, and under its tip a hook (decoupler, block, grabber "
             "facing down) hung on two winches. Needs controls.REFERENCE_BINDINGS['fetch'] (decoupler "
             "on V): the fetch script then rolls it to the well's curb (UpArrow, then coasting), drops "
             "the hook (V), lowers it onto the ore (M) and reels the ore out of the well (N): wins "
             "fetch 1. With the decoupler's default J, which the script never presses, it scores 0",
    "fetch_no_grabber": "negative control: the fetch crane with a plain block instead of the grabber",
}
"""Reference machines shipped as package data (``machines/data/machines/<name>.json``)."""


def reference_machine(name: str) -> list[dict[str, Any]]:
    """The construction tree of a shipped reference machine (see ``REFERENCE_MACHINES``)."""
    from importlib.resources import files

    if name not in REFERENCE_MACHINES:
        raise KeyError(f"unknown reference machine {name!r}; known: {sorted(REFERENCE_MACHINES)}")
    text = (files("brickfield.machines") / "data" / "machines" / f"{name}.json").read_text("utf-8")
    return json.loads(text)
