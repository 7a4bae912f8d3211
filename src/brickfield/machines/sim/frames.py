"""Besiege <-> MuJoCo frames: the one place where the two coordinate systems meet.

Besiege is left-handed with x right, y up, z forward; MuJoCo is right-handed with z up. The
conversion is the axis swap ``S = (x, y, z) -> (x, z, y)``: MuJoCo x is Besiege x (right), MuJoCo
y is Besiege z (forward), MuJoCo z is Besiege y (up). ``S`` is a reflection (det -1), which is
exactly what turns the left-handed frame into a right-handed one. A rotation matrix maps as
``R_m = S R_b S``; for a quaternion with axis ``v`` and angle ``t`` that is the rotation about
``S v`` by ``-t`` (conjugating by a reflection reverses the sense of rotation), i.e. Besiege
``[x, y, z, w]`` -> MuJoCo ``[w, -x, -z, -y]``. Block-local offsets map with the same ``S``, so a
body's frame in MuJoCo is exactly its block frame (origin = connection point) seen through ``S``.
Checked in ``tests/machines/test_physics.py`` (round trips, ``R_m = S R_b S``, facings).
"""

from __future__ import annotations

from collections.abc import Iterable

import mujoco
import numpy as np

__all__ = ["besiege_to_mj_quat", "besiege_to_mj_vec", "mj_to_besiege_quat",
           "mj_to_besiege_vec"]

_SWAP = [0, 2, 1]


def besiege_to_mj_vec(v: np.ndarray | Iterable[float]) -> np.ndarray:
    """Besiege (x right, y up, z forward) -> MuJoCo (x, y=forward, z=up); works on (..., 3)."""
    return np.asarray(v, dtype=float)[..., _SWAP]


def mj_to_besiege_vec(v: np.ndarray | Iterable[float]) -> np.ndarray:
    """Inverse of ``besiege_to_mj_vec`` (the swap is its own inverse)."""
    return np.asarray(v, dtype=float)[..., _SWAP]


def besiege_to_mj_quat(q: np.ndarray | Iterable[float]) -> np.ndarray:
    """Besiege quaternion [x, y, z, w] -> MuJoCo quaternion [w, x, y, z]; works on (..., 4)."""
    q = np.asarray(q, dtype=float)
    return np.stack([q[..., 3], -q[..., 0], -q[..., 2], -q[..., 1]], axis=-1)


def mj_to_besiege_quat(q: np.ndarray | Iterable[float]) -> np.ndarray:
    """MuJoCo quaternion [w, x, y, z] -> Besiege [x, y, z, w]; works on (..., 4)."""
    q = np.asarray(q, dtype=float)
    return np.stack([-q[..., 1], -q[..., 3], -q[..., 2], q[..., 0]], axis=-1)


def quat_conj(q: np.ndarray) -> np.ndarray:
    """Conjugate of a MuJoCo quaternion [w, x, y, z]."""
    return np.array([q[0], -q[1], -q[2], -q[3]])


def quat_mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Product ``a * b`` of MuJoCo quaternions [w, x, y, z]."""
    out = np.zeros(4)
    mujoco.mju_mulQuat(out, np.asarray(a, float), np.asarray(b, float))
    return out


def rotate(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rotate one vector ``v`` (MuJoCo frame) by a MuJoCo quaternion [w, x, y, z]."""
    out = np.zeros(3)
    mujoco.mju_rotVecQuat(out, np.asarray(v, float), np.asarray(q, float))
    return out
