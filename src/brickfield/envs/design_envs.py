"""Gymnasium environments over the domain contract: one prompt, one answer text, one reward.

:class:`DesignEnv` is domain-agnostic: it holds a list of :class:`~brickfield.core.TaskSpec` and
evaluates answers with the task's domain (``evaluate_text``), so its reward is exactly the reward the
domain, the CLI, ``evaluate_many`` and the RL adapters give the same answer. Two registered ids build
it for the built-in domains:

* ``brickfield/MachineDesign-v0`` (:class:`MachineDesignEnv`): one or more machine levels;
* ``brickfield/BrickDesign-v0`` (:class:`BrickDesignEnv`): LEGO captions, free or with a target.

``reset(seed=..., options=...)`` returns the prompt (``gymnasium.spaces.Text``) and an ``info`` dict
with the task (``task_id``, ``task`` = ``TaskSpec.to_dict()``), the system prompt and the chat
``messages``. Options: ``{"task": <TaskSpec | name | index>}`` switches task (machines also take
``{"level": 2}``, ``{"variant": 5}``); without one, a task is drawn from the env's list with the seeded
RNG. ``step(text)`` returns ``(prompt, reward, terminated=True, truncated=False, info)`` with
``info["evaluation"]`` the ``Evaluation`` record (wall-clock timings left out, so ``info`` is
deterministic; ``record_timings=True`` adds ``info["timings"]``). Bad answer text never raises; an
evaluator failure gives reward 0 with ``info["status"] == "error"`` (the record's reward stays None).
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar, SupportsFloat

import gymnasium as gym
from gymnasium import spaces
from gymnasium.error import ResetNeeded

from brickfield.core.evaluation import Evaluation
from brickfield.core.registry import get_domain
from brickfield.core.task import TaskSpec

__all__ = ["BrickDesignEnv", "DesignEnv", "MachineDesignEnv"]

DEFAULT_MAX_OBS = 32_768
"""Observation space bound; raised automatically when a prompt is longer."""

BASE_CHARSET: str = "".join(sorted(
    set(string.printable) | {chr(c) for c in range(0xA0, 0x100)} | set("–—‘’“”…×°·•→≤≥±λ")))
"""Characters of the Text spaces: printable ASCII with whitespace, Latin-1 and common typography.
Observation spaces add every character of their tasks' prompts. The action space is advisory:
``step`` evaluates any ``str`` (answers over the task's ``max_text_chars`` are ``refused``)."""


def _prompt(spec: TaskSpec) -> str:
    users = [c for r, c in spec.messages if r == "user"]
    return users[-1] if users else ""


def _system(spec: TaskSpec) -> str:
    return next((c for r, c in spec.messages if r == "system"), "")


def _charset(texts: Iterable[str]) -> str:
    chars = set(BASE_CHARSET)
    for text in texts:
        chars.update(text)
    return "".join(sorted(chars))


class DesignEnv(gym.Env[str, str]):
    """One task spec per episode, one answer per episode, reward from the task's domain."""

    # render_fps is nominal (one text frame per step); gymnasium's render check asks for a value.
    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["ansi"], "render_fps": 1}

    def __init__(self, tasks: Sequence[TaskSpec], *, record_timings: bool = False,
                 render_mode: str | None = None, prompt_pool: Iterable[str] = ()) -> None:
        if not tasks:
            raise ValueError("a DesignEnv needs at least one task")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be None or one of {self.metadata['render_modes']}")
        self.tasks: tuple[TaskSpec, ...] = tuple(tasks)
        self.record_timings = bool(record_timings)
        self.render_mode = render_mode
        prompts = [_prompt(t) for t in self.tasks] + list(prompt_pool)
        self.observation_space = spaces.Text(max_length=max(DEFAULT_MAX_OBS, *(len(p) for p in prompts)),
                                             min_length=0, charset=_charset(prompts))
        max_text = max(t.limits.max_text_chars for t in self.tasks)
        self.action_space = spaces.Text(max_length=max_text, min_length=0, charset=BASE_CHARSET)
        self.task: TaskSpec = self.tasks[0]
        self._prompt: str | None = None
        self._done = True
        self._last: Evaluation | None = None

    # --- task selection -----------------------------------------------------------------------------
    def _select(self, options: Mapping[str, Any]) -> TaskSpec:
        """The episode's task: ``options["task"]`` (spec, name or index) or a seeded draw."""
        choice = options.get("task")
        if isinstance(choice, TaskSpec):
            return choice
        if isinstance(choice, int) and not isinstance(choice, bool):
            if not 0 <= choice < len(self.tasks):
                raise ValueError(f"options['task'] index must be in [0, {len(self.tasks)}), got {choice}")
            return self.tasks[choice]
        if isinstance(choice, str):
            for t in self.tasks:
                if choice in (t.name, t.id):
                    return t
            return self._task_by_name(choice)
        if choice is not None:
            raise ValueError(f"options['task'] must be a TaskSpec, a task name or an index, got {choice!r}")
        return self.tasks[int(self.np_random.integers(len(self.tasks)))]

    def _task_by_name(self, name: str) -> TaskSpec:
        raise ValueError(f"unknown task {name!r}; this env has {[t.name for t in self.tasks]}")

    # --- gymnasium API ------------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None,
              options: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        """Start an episode: returns the prompt and the task metadata."""
        super().reset(seed=seed)
        self.task = self._select(options or {})
        prompt = _prompt(self.task)
        self._prompt, self._done, self._last = prompt, False, None
        info = {"task_id": self.task.id, "task": self.task.to_dict(), "system_prompt": _system(self.task),
                "messages": self.task.chat}
        return prompt, info

    def step(self, action: str) -> tuple[str, SupportsFloat, bool, bool, dict[str, Any]]:
        """Evaluate one answer. Always terminates; never raises on bad answer text."""
        if self._prompt is None:
            raise ResetNeeded("Cannot call env.step() before calling env.reset()")
        if self._done:
            raise ResetNeeded("The episode has terminated: call env.reset() before env.step() again")
        if isinstance(action, bytes):
            action = action.decode("utf-8", errors="replace")
        if not isinstance(action, str):
            raise gym.error.InvalidAction(f"the action must be the answer text (str), got {type(action)}")
        ev = get_domain(self.task.domain).evaluate_text(action, self.task)
        reward = 0.0 if ev.reward is None else float(ev.reward)
        info: dict[str, Any] = {"evaluation": ev.to_dict(timings=False), "status": ev.status,
                                "valid": ev.valid, "success": ev.success, "reward": reward,
                                "reason": ev.reason, "components": dict(ev.components)}
        if self.record_timings:
            info["timings"] = dict(ev.timings)
        self._done, self._last = True, ev
        return self._prompt, reward, True, False, info

    def feedback(self, level: str = "full") -> str:
        """The domain's feedback on the last answer (``core.contract.FEEDBACK_LEVELS``)."""
        if self._last is None:
            raise ResetNeeded("no answer evaluated yet")
        return get_domain(self.task.domain).feedback(self._last, level, self.task).text

    def render(self) -> str | None:  # type: ignore[override]
        """``"ansi"``: the prompt, then (after ``step``) the answer's status, reward and feedback."""
        if self.render_mode != "ansi":
            return None
        if self._prompt is None:
            return ""
        lines = [self._prompt]
        if self._last is not None:
            ev = self._last
            lines += ["", f"status: {ev.status}  reward: {ev.reward}  success: {ev.success}",
                      self.feedback("minimal")]
        return "\n".join(lines)


class MachineDesignEnv(DesignEnv):
    """Design a Besiege-style machine (``brickfield/MachineDesign-v0``).

    ``task`` is a level (``"car:1"``, ``"catapult_level3"``, ``"car"`` with ``level=2``); ``tasks`` a
    list of levels or a suite name (``"default"``: all 26) to draw from at ``reset``. The other keyword
    arguments are task parameters (``variant``, ``reference_quirks``, ``allow_any_block``, ``bindings``,
    ``simulate_invalid``, ``binary``, ``seed``, ``wall_seconds``; see ``machines.tasks.machine_task``).
    ``reset(options={"task": "catapult:3"} | {"level": 2} | {"variant": 7})`` switches level or variant.
    Reward: ``valid × score`` (``machines.tasks``)."""

    def __init__(self, task: str = "car:1", level: int | None = None, *,
                 tasks: Sequence[str] | str | None = None, record_timings: bool = False,
                 render_mode: str | None = None, **params: Any) -> None:
        from brickfield.machines.tasks import machine_task, machine_tasks, parse_level_name

        self._params = dict(params)
        if tasks is not None:
            is_suite = isinstance(tasks, str) and ":" not in tasks and "_level" not in tasks
            specs = (machine_tasks(tasks) if is_suite
                     else [machine_task(n, **params) for n in ([tasks] if isinstance(tasks, str) else tasks)])
            if isinstance(tasks, str) and params:
                specs = [machine_task(s.name, **params) for s in specs]
        else:
            family, number, variant = parse_level_name(task)
            name = f"{family}:{level if level is not None else number}"
            name += "" if variant is None else f"@{variant}"
            specs = [machine_task(name, **params)]
        pool = [_prompt(s) for s in machine_tasks("default")]
        super().__init__(specs, record_timings=record_timings, render_mode=render_mode, prompt_pool=pool)

    def _task_by_name(self, name: str) -> TaskSpec:
        from brickfield.machines.tasks import machine_task

        return machine_task(name, **self._params)

    def _select(self, options: Mapping[str, Any]) -> TaskSpec:
        if "level" in options or "variant" in options:
            from brickfield.machines.tasks import machine_task

            p = self.task.params
            level = int(options.get("level", p["level"]))
            variant = options.get("variant", p["variant"] if "level" not in options else None)
            return machine_task(f"{p['task']}:{level}", variant=variant, **self._params)
        return super()._select(options)


class BrickDesignEnv(DesignEnv):
    """Build a LEGO structure from a caption (``brickfield/BrickDesign-v0``).

    ``caption`` (and ``target`` brick text for a PVPO task), or ``targets``: a list of (caption, target or
    None) pairs or TaskSpecs to draw from; with neither, the default suite (``lego.tasks``). ``lam``,
    ``align`` and ``max_bricks`` are task parameters. Reward: free design ``valid × stable``; with a
    target PVPO ``(1 - λ)·R_phys + λ·R_vox`` (``lego.tasks``)."""

    def __init__(self, target: str | None = None, caption: str | None = None, lam: float = 0.5,
                 targets: Sequence[TaskSpec | tuple[str, str | None]] | None = None, *,
                 record_timings: bool = False, render_mode: str | None = None, **params: Any) -> None:
        from brickfield.core.task import TaskSpecError
        from brickfield.lego.tasks import lego_task, lego_tasks

        if targets is not None and (target is not None or caption is not None):
            raise ValueError("give either targets or target/caption, not both")
        try:
            if targets is not None:
                specs = [t if isinstance(t, TaskSpec) else
                         lego_task(f"caption/{i}", caption=str(t[0]), target=t[1], lam=lam, **params)
                         for i, t in enumerate(targets)]
            elif target is not None or caption is not None:
                specs = [lego_task("caption/0", caption=caption or "A LEGO structure.", target=target,
                                   lam=lam,
                                   **params)]
            else:
                specs = [lego_task(s.name, lam=lam, **params) for s in lego_tasks("default")]
        except TaskSpecError as exc:
            raise ValueError(str(exc)) from None
        super().__init__(specs, record_timings=record_timings, render_mode=render_mode)
