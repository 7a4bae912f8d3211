"""Construction trees and file helpers shared by the machine tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

ROOT: dict[str, Any] = {"id": "0", "order_id": 0, "parent": -1, "bp_id": -1}

CAR: list[dict[str, Any]] = [
    ROOT, {"id": "63", "order_id": 1, "parent": 0, "bp_id": 0},
    {"id": "2", "order_id": 2, "parent": 0, "bp_id": 2}, {"id": "2", "order_id": 3, "parent": 0, "bp_id": 3},
    {"id": "2", "order_id": 4, "parent": 1, "bp_id": 3}, {"id": "2", "order_id": 5, "parent": 1, "bp_id": 6}]
"""The research note's verified car: a log forward of the root and four powered wheels."""

RICH: list[dict[str, Any]] = [
    ROOT,
    {"id": "63", "order_id": 1, "parent": 0, "bp_id": 0},
    {"id": "2", "order_id": 2, "parent": 0, "bp_id": 2},
    {"id": "2", "order_id": 3, "parent": 0, "bp_id": 3},
    {"id": "46", "order_id": 4, "parent": 1, "bp_id": 3},
    {"id": "46", "order_id": 5, "parent": 1, "bp_id": 6},
    {"id": "35", "order_id": 6, "parent": 1, "bp_id": 8},
    {"id": "22", "order_id": 7, "parent": 1, "bp_id": 0},
    {"id": "15", "order_id": 8, "parent": 0, "bp_id": 4},
    {"id": "9", "order_id": 9, "parent_a": 8, "bp_id_a": 0, "parent_b": 6, "bp_id_b": 0},
    {"id": "7", "order_id": 10, "parent_a": 0, "bp_id_a": 1, "parent_b": 2, "bp_id_b": 0},
    {"id": "45", "order_id": 11, "parent_a": 8, "bp_id_a": 3, "parent_b": 7, "bp_id_b": 3},
]
"""A valid machine using every type with ``.bsg`` Data defaults: powered wheels 2 and 46 on both
sides (the x- ones flipped), ballast, spinning block, rubber band, brace and winch."""

OVERLAPPING: list[dict[str, Any]] = [*CAR, {"id": "2", "order_id": 6, "parent": 1, "bp_id": 1}]
"""File-valid but spatially invalid (a wheel inside another)."""


def write(tmp_path: Path, name: str, content: str) -> str:
    """Write ``content`` to ``tmp_path / name`` and return the path as a string (a CLI argument)."""
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return str(path)
