"""Gymnasium environments over the domain contract (extra ``gym``).

Importing this package registers ``brickfield/MachineDesign-v0`` and ``brickfield/BrickDesign-v0``.
"""

from brickfield.envs.design_envs import (
    BRICK_ENV_ID,
    BRICK_SYSTEM_PROMPT,
    DEFAULT_BRICK_TARGETS,
    MACHINE_ENV_ID,
    BrickDesignEnv,
    BrickTarget,
    MachineDesignEnv,
    brick_instruction,
    default_brick_targets,
    machine_system_prompt,
    register_envs,
)

__all__ = [
    "BRICK_ENV_ID",
    "BRICK_SYSTEM_PROMPT",
    "DEFAULT_BRICK_TARGETS",
    "MACHINE_ENV_ID",
    "BrickDesignEnv",
    "BrickTarget",
    "MachineDesignEnv",
    "brick_instruction",
    "default_brick_targets",
    "machine_system_prompt",
    "register_envs",
]
