"""Machine task specs: one per level (``car:1`` ... ``fetch:1``), with seeded variants.

Level syntax, the same in every command and API: ``car:2``, ``car_level2`` or ``car`` (level 1);
``@N`` or ``variant=N`` selects a seeded variant (``catapult:8@3``).

Reward policy (one definition, used by the domain, the env, the CLI and the RL adapters):
``reward = valid × score`` with ``score`` from the level's win condition (``machines.scoring``).
``valid`` means file-valid, spatially valid, built only from the blocks the level allows (else issue
``block_not_allowed``; ``allow_any_block=True`` restores BesiegeField's behaviour, which scores such
machines) and an episode the simulator did not have to stop (NaN, runaway energy, ``wall_limit``).
Invalid machines are not simulated unless ``simulate_invalid=True`` (their score is then reported as
a metric, the reward stays 0). Success (for pass@k) per win condition:

========================  =========================================  ===============================
win condition             levels                                     success
========================  =========================================  ===============================
Car_distance              car 1-5                                    score >= 20 m (``success_at``)
Boulder_throw             catapult 1-7                               score > 0 (a real throw)
Boulder_throw_with_target catapult 8-11                              win
Target_deliver            delivery 1-9, fetch 1                      win
========================  =========================================  ===============================
"""

from __future__ import annotations

import re
from typing import Any

from brickfield.core.task import Limits, RewardSpec, SuccessRule, TaskSpec, TaskSpecError
from brickfield.machines.design.tree import DEFAULT_LIMITS
from brickfield.machines.levels.registry import Level, get_level
from brickfield.machines.levels.schema import list_levels
from brickfield.machines.prompts import machine_system_prompt

__all__ = ["DEFAULT_BINDINGS", "SUITES", "allowed_block_types", "machine_task", "machine_tasks",
           "parse_level_name", "task_level"]

DEFAULT_CAR_SUCCESS_M = 20.0

DEFAULT_BINDINGS: dict[str, dict[str, dict[str, str]]] = {"fetch": {"*": {"detach": "V"}}}
"""Per-task key mapping applied unless the task gives its own: on fetch the level's script taps V to
drop the hook, so decouplers answer V there (Besiege's default J is never pressed). ``"*"`` binds
the action on every block that has it."""

_NAME = re.compile(r"^\s*([a-z]+)(?:(?::|_level)(\d+))?(?:@(\d+))?\s*$")


def parse_level_name(name: str) -> tuple[str, int, int | None]:
    """``"car:2"`` / ``"car_level2"`` / ``"car"`` / ``"catapult:8@3"`` -> (task, level, variant)."""
    m = _NAME.match(str(name).lower())
    if m is None:
        raise TaskSpecError(f"bad level name {name!r}: use TASK:N (car:2), TASK_levelN or TASK, "
                            "optionally @SEED for a variant")
    return m.group(1), int(m.group(2) or 1), None if m.group(3) is None else int(m.group(3))


def _success(level: Level, success_at: float | None) -> SuccessRule:
    if level.win_condition == "Car_distance":
        return SuccessRule("score", ">=", DEFAULT_CAR_SUCCESS_M if success_at is None else float(success_at))
    if level.win_condition == "Boulder_throw":
        return SuccessRule("score", ">", 0.0 if success_at is None else float(success_at))
    return SuccessRule("win", ">=", 1.0)


def _bindings(task: str, bindings: dict[str, Any] | None) -> dict[str, dict[str, Any]] | None:
    if bindings is None:
        return DEFAULT_BINDINGS.get(task)
    if not isinstance(bindings, dict):
        raise TaskSpecError("bindings must be {order_id or '*': {action: key}}")
    out: dict[str, dict[str, Any]] = {}
    for block, actions in bindings.items():
        key = str(block)
        if key != "*" and not key.lstrip("-").isdigit():
            raise TaskSpecError(f"bindings: block {block!r} must be an order_id or '*'")
        if not isinstance(actions, dict) or not all(isinstance(a, str) for a in actions):
            raise TaskSpecError(f"bindings for block {block!r} must map action names to keys")
        out[key] = {a: v for a, v in actions.items()}
    return out or None


def machine_task(name: str, *, variant: int | None = None, seed: int = 0, reference_quirks: bool = True,
                 allow_any_block: bool = False, simulate_invalid: bool = False, binary: bool = False,
                 bindings: dict[str, Any] | None = None, success_at: float | None = None,
                 wall_seconds: float = 60.0, max_blocks: int = DEFAULT_LIMITS.max_blocks) -> TaskSpec:
    """The task spec of one level (see the module docstring for the syntax and the reward policy)."""
    task, number, name_variant = parse_level_name(name)
    if variant is not None and name_variant is not None and variant != name_variant:
        raise TaskSpecError(f"variant given twice ({name!r} and variant={variant})")
    variant = name_variant if variant is None else variant
    if variant is not None and int(variant) < 0:
        raise TaskSpecError("variant seeds are >= 0")
    try:
        level = get_level(task, number, variant)
    except KeyError:
        raise TaskSpecError(f"unknown level {task}:{number}; known: "
                            f"{', '.join(n.replace('_level', ':') for n in list_levels())}") from None
    if not 0 < float(wall_seconds) <= 3600:
        raise TaskSpecError("wall_seconds must be in (0, 3600]")
    if not 1 <= int(max_blocks) <= 10_000:
        raise TaskSpecError("max_blocks must be in [1, 10000]")
    params = {"task": task, "level": number, "variant": variant, "seed": int(seed),
              "reference_quirks": bool(reference_quirks), "allow_any_block": bool(allow_any_block),
              "simulate_invalid": bool(simulate_invalid), "binary": bool(binary),
              "bindings": _bindings(task, bindings)}
    messages = ({"role": "system", "content": machine_system_prompt(level)},
                {"role": "user", "content": level.prompt})
    reward = RewardSpec((("valid", 1.0), ("score", 1.0)), "product", _success(level, success_at),
                        f"machine validity x {level.win_condition} score")
    spec_name = f"{task}:{number}" + ("" if variant is None else f"@{variant}")
    return TaskSpec.make("machines", spec_name, params, messages=messages,
                         limits=Limits(max_parts=int(max_blocks), sim_seconds=float(level.duration),
                                       wall_seconds=float(wall_seconds)),
                         reward=reward)


SUITES: dict[str, str] = {
    "default": "all 26 levels (car 1-5, catapult 1-11, delivery 1-9, fetch 1)",
    "car": "car levels", "catapult": "catapult levels", "delivery": "delivery levels",
    "fetch": "fetch levels",
    "variants": "every level with seeded variants 1-3",
}


def machine_tasks(suite: str = "default") -> list[TaskSpec]:
    """Task specs of a suite (see ``SUITES``), levels in (task, number) order."""
    names = sorted(list_levels(), key=lambda n: (n.split("_level")[0], int(n.split("_level")[1])))
    if suite in ("default", "all"):
        return [machine_task(n) for n in names]
    if suite in ("car", "catapult", "delivery", "fetch"):
        return [machine_task(n) for n in names if n.startswith(suite + "_")]
    if suite == "variants":
        return [machine_task(n, variant=v) for n in names for v in (1, 2, 3)]
    raise TaskSpecError(f"unknown machines suite {suite!r}; known: {sorted(SUITES)}")


def task_level(task: TaskSpec) -> Level:
    """The level (its seeded variant included) a machine task runs on."""
    p = task.params
    return get_level(p["task"], int(p["level"]), p.get("variant"))


def allowed_block_types(task: TaskSpec) -> frozenset[str] | None:
    """Block types a machine may use on ``task``; None when the task allows any block."""
    if task.param("allow_any_block", False):
        return None
    return task_level(task).allowed_blocks
