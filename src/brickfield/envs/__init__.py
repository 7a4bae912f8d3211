"""Gymnasium environments over the domain contract (extra ``gym``).

``brickfield/MachineDesign-v0`` and ``brickfield/BrickDesign-v0`` are registered on ``import brickfield``
when gymnasium is installed. The classes are imported on first use, so registering stays cheap.
"""

from __future__ import annotations

from typing import Any

from brickfield.envs.registration import BRICK_ENV_ID, MACHINE_ENV_ID, register_envs

__all__ = ["BRICK_ENV_ID", "MACHINE_ENV_ID", "BrickDesignEnv", "DesignEnv", "MachineDesignEnv",
           "register_envs"]

_LAZY = frozenset({"BrickDesignEnv", "DesignEnv", "MachineDesignEnv"})


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from brickfield.envs import design_envs

        return getattr(design_envs, name)
    raise AttributeError(f"module 'brickfield.envs' has no attribute {name!r}")
