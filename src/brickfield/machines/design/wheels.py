"""Which way a powered wheel drives the machine (MuJoCo-free; feedback, 3D information and prompts
share it)."""

from __future__ import annotations

import numpy as np

__all__ = ["drive_direction"]

_UP = np.array([0.0, 1.0, 0.0])


def drive_direction(axis: np.ndarray, flipped: bool) -> np.ndarray:
    """Direction(s) a powered wheel with facing ``axis`` (..., 3) pushes the machine; zero when the
    axle is vertical. The motor turns unflipped wheels negatively about their facing axis
    (``sim.blocks``); rolling then moves the axle along -(axis x up) in Besiege's left-handed frame."""
    return (-1.0 if flipped else 1.0) * np.cross(np.asarray(axis, dtype=float), _UP)
