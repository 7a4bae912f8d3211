"""Besiege-frame quaternions [x, y, z, w] in plain numpy (no MuJoCo), shared by placement, levels,
feedback and export. MuJoCo's [w, x, y, z] convention lives in ``machines.sim.frames`` only."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

__all__ = ["besiege_rotate", "quat_conj", "quat_matrix", "quat_rotate"]


def besiege_rotate(q: np.ndarray | Iterable[float], v: np.ndarray | Iterable[float]) -> np.ndarray:
    """Rotate ``v`` (..., 3) by unit Besiege quaternions ``q`` (..., 4) [x, y, z, w]."""
    q = np.asarray(q, dtype=float)
    v = np.asarray(v, dtype=float)
    u, w = q[..., :3], q[..., 3:4]
    t = 2.0 * np.cross(u, np.broadcast_to(v, u.shape))
    return v + w * t + np.cross(u, t)


def quat_rotate(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rotate ``v`` by quaternions ``q`` (..., 4) [x, y, z, w] (normalised here; zero -> identity)."""
    q = np.asarray(q, dtype=float)
    n = np.linalg.norm(q, axis=-1, keepdims=True)
    return besiege_rotate(np.where(n > 0, q / np.where(n > 0, n, 1.0), [0.0, 0.0, 0.0, 1.0]), v)


def quat_conj(q: Sequence[float] | np.ndarray) -> np.ndarray:
    """Conjugate (inverse for unit quaternions) of a Besiege quaternion [x, y, z, w]."""
    return np.array([-q[0], -q[1], -q[2], q[3]], dtype=float)


def quat_matrix(q: Sequence[float]) -> np.ndarray:
    """3x3 rotation matrix of a unit Besiege quaternion [x, y, z, w]."""
    x, y, z, w = q
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                     [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                     [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])
