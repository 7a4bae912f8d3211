"""Gymnasium ids of the brickfield environments, registered by entry-point string so that registering
does not import the environments (nor anything heavy) until ``gymnasium.make`` needs them."""

from __future__ import annotations

__all__ = ["BRICK_ENV_ID", "ENTRY_POINTS", "MACHINE_ENV_ID", "register_envs"]

MACHINE_ENV_ID = "brickfield/MachineDesign-v0"
BRICK_ENV_ID = "brickfield/BrickDesign-v0"
ENTRY_POINTS = {MACHINE_ENV_ID: "brickfield.envs.design_envs:MachineDesignEnv",
                BRICK_ENV_ID: "brickfield.envs.design_envs:BrickDesignEnv"}


def register_envs() -> None:
    """Register both ids with Gymnasium (idempotent). ``import brickfield`` calls it when gymnasium is
    installed; it is also the ``gymnasium.envs`` entry point read by Gymnasium 0.26-0.29."""
    # Imported here: Gymnasium 0.26-0.29 call this while `gymnasium` itself is still importing.
    from gymnasium.envs.registration import register, registry

    for env_id, entry_point in ENTRY_POINTS.items():
        spec = registry.get(env_id)
        if spec is not None and spec.entry_point == entry_point:
            continue
        register(id=env_id, entry_point=entry_point, nondeterministic=False)
