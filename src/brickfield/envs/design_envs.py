"""Gymnasium environments: one-step design tasks where the action is an LLM's answer text.

Two environments, registered as ``brickfield/MachineDesign-v0`` and ``brickfield/BrickDesign-v0``
(extra ``gym``: ``pip install "brickfield[gym]"``). An episode is one prompt and one answer:

* ``reset(seed=..., options=...)`` returns the prompt (a ``gymnasium.spaces.Text`` observation) and an
  ``info`` dict with the task metadata, the system prompt and ready-to-use chat ``messages``;
* ``step(text)`` evaluates the answer through the domain contract (``brickfield.core.get_domain``) and
  returns ``(prompt, reward, terminated=True, truncated=False, info)``, ``info["evaluation"]`` being
  ``Evaluation.to_dict()``. Bad answer text never raises: it gets reward 0 and ``info["reason"]``.
  Stepping before ``reset`` or after the episode ended raises ``gymnasium.error.ResetNeeded``.

Determinism: the same seed gives the same observation and the same answer the same reward and the
same ``info``. To keep ``info`` reproducible (Gymnasium's ``check_env`` compares it), wall-clock
measurements (the ``timing`` field and the stability solver's ``seconds``) are left out of it unless
the env is built with ``record_timings=True``; they then appear in ``info["timings"]``.

Gymnasium 1.x has no plugin discovery, so ``gymnasium.make`` finds these ids only once this module has
been imported: ``import brickfield.envs`` first, or name the module in the id,
``gymnasium.make("brickfield.envs:brickfield/MachineDesign-v0", task="car", level=1)``.
(The ``gymnasium.envs`` entry point declared in ``pyproject.toml`` is read by Gymnasium 0.26-0.29 only.)
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, SupportsFloat

import gymnasium as gym
from gymnasium import logger, spaces
from gymnasium.error import ResetNeeded

from brickfield.core.contract import Evaluation, Task
from brickfield.core.errors import BrickfieldError, ParseError, ParseIssue
from brickfield.core.registry import get_domain
from brickfield.lego.checks import NOT_IN_LIBRARY, OUT_OF_BOUNDS, check_structure
from brickfield.lego.library import DEFAULT_WORLD_DIM
from brickfield.lego.prompts import BRICK_SYSTEM_PROMPT, brick_instruction
from brickfield.lego.textformat import parse_text
from brickfield.machines.prompts import machine_system_prompt, type_order
from brickfield.machines.scoring import LevelScorer, level_scorer

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

MACHINE_ENV_ID = "brickfield/MachineDesign-v0"
BRICK_ENV_ID = "brickfield/BrickDesign-v0"

DEFAULT_MAX_TEXT = 131_072
"""Longest answer (characters) evaluated; longer ones get reward 0. Also the action space's bound."""
DEFAULT_MAX_OBS = 32_768
"""Observation space bound; raised automatically when a prompt is longer."""
DEFAULT_MAX_BRICKS = 2_000
"""BrickGPT's generation cap; brick stability analysis grows super-linearly beyond it."""

BASE_CHARSET: str = "".join(sorted(
    set(string.printable) | {chr(c) for c in range(0xA0, 0x100)} | set("–—‘’“”…×°·•→≤≥±")))
"""Characters of the Text spaces: printable ASCII with whitespace, Latin-1 and common typography.

Observation spaces add every character of their own prompts, so an observation is always inside its
space. The action space is advisory: ``step`` evaluates any ``str`` up to ``max_text`` characters,
including characters outside this set."""

_WALL_CLOCK: tuple[tuple[str, ...], ...] = (("timing",), ("stability", "seconds"))
"""Paths of wall-clock fields in ``Evaluation.to_dict()`` (moved out of ``info`` by default)."""


def _charset(texts: Iterable[str]) -> str:
    chars = set(BASE_CHARSET)
    for text in texts:
        chars.update(text)
    return "".join(sorted(chars))


def _pop_path(d: dict[str, Any], path: tuple[str, ...]) -> Any:
    """Remove and return ``d[path[0]][path[1]]...`` (None when any step is missing)."""
    for key in path[:-1]:
        d = d.get(key)  # type: ignore[assignment]
        if not isinstance(d, dict):
            return None
    return d.pop(path[-1], None)


class _TextDesignEnv(gym.Env[str, str]):
    """One prompt, one answer. Subclasses build prompts and evaluate answers."""

    # render_fps is nominal (one text frame per step); gymnasium's render check asks for a value.
    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["ansi"], "render_fps": 1}
    domain_name: ClassVar[str]

    def __init__(self, *, observations: Sequence[str], max_text: int, record_timings: bool,
                 render_mode: str | None) -> None:
        if max_text < 1:
            raise ValueError(f"max_text must be positive, got {max_text}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be None or one of {self.metadata['render_modes']}")
        self.max_text = int(max_text)
        self.record_timings = bool(record_timings)
        self.render_mode = render_mode
        self.observation_space = spaces.Text(
            max_length=max(DEFAULT_MAX_OBS, *(len(o) for o in observations)), min_length=0,
            charset=_charset(observations))
        self.action_space = spaces.Text(max_length=self.max_text, min_length=0, charset=BASE_CHARSET)
        self._prompt: str | None = None      # observation of the current episode
        self._done = True
        self._last: dict[str, Any] | None = None

    # --- subclass hooks ---------------------------------------------------------------------------
    def _new_episode(self, options: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        """Choose the episode's prompt (may draw from ``self.np_random``); return (prompt, info)."""
        raise NotImplementedError

    def _evaluate(self, text: str) -> tuple[float, Evaluation, str | None, dict[str, Any]]:
        """(reward, evaluation, reason or None, extra info) of an answer within ``max_text``."""
        raise NotImplementedError

    def _refused_extra(self) -> dict[str, Any]:
        """The extra step-info keys for an answer refused before evaluation (too long, unusable)."""
        return {}

    # --- gymnasium API ------------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None,
              options: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        """Start an episode: returns the prompt and the task metadata."""
        super().reset(seed=seed)
        prompt, info = self._new_episode(options or {})
        self._prompt, self._done, self._last = prompt, False, None
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
        reward, ev, reason, extra = self._judge(action)
        evaluation = ev.to_dict()
        timings = {".".join(p): v for p in _WALL_CLOCK if (v := _pop_path(evaluation, p)) is not None}
        info: dict[str, Any] = {"evaluation": evaluation, "valid": bool(ev.valid), "reward": float(reward),
                                "reason": reason, **extra}
        if self.record_timings:
            info["timings"] = timings
        self._done = True
        self._last = {"reward": float(reward), "valid": bool(ev.valid), "reason": reason,
                      "feedback": ev.feedback}
        return self._prompt, float(reward), True, False, info

    def _judge(self, text: str) -> tuple[float, Evaluation, str | None, dict[str, Any]]:
        """``_evaluate`` with the length limit applied and refusals turned into reward 0."""
        if len(text) > self.max_text:
            reason = f"answer too long: {len(text)} characters > max_text {self.max_text}"
        else:
            try:
                return self._evaluate(text)
            except BrickfieldError as exc:  # typed refusals the domain raises for unusable input
                reason = str(exc)
            except Exception as exc:  # an evaluator bug must not kill an RL run; it is reported
                reason = f"internal error ({type(exc).__name__}): {exc}"
                logger.warn(f"brickfield env: {reason}")
        return 0.0, Evaluation(self.domain_name, False, 0.0, [reason]), reason, self._refused_extra()

    def render(self) -> str | None:  # type: ignore[override]
        """``"ansi"``: the prompt, then (after ``step``) the answer's reward, reason and feedback."""
        if self.render_mode != "ansi":
            return None
        if self._prompt is None:
            return ""
        lines = [self._prompt]
        if self._last is not None:
            last = self._last
            lines += ["", f"reward: {last['reward']:.4f}  valid: {last['valid']}"]
            if last["reason"]:
                lines.append(f"reason: {last['reason']}")
            if last["feedback"]:
                lines.append(str(last["feedback"]))
        return "\n".join(lines)


# --- machines -------------------------------------------------------------------------------------
class MachineDesignEnv(_TextDesignEnv):
    """Design a Besiege-style machine for one level (``brickfield/MachineDesign-v0``).

    Observation: the level's task prompt (or ``prompt``). ``reset`` info: ``task``, ``level``,
    ``level_name``, ``allowed_blocks``, ``win_condition``, ``duration``, ``system_prompt`` (the
    construction-tree format and the allowed blocks), ``messages`` (system + user chat turns).
    Action: the model's answer text (a construction tree, prose and code fences tolerated).
    Reward: the machines domain's reward, machine validity x task score (e.g. metres driven on car
    levels); with ``allowed_blocks_only=True`` a machine using blocks the level does not allow gets 0.
    Step info: ``evaluation`` (``Evaluation.to_dict()``), ``valid``, ``reward``, ``reason`` (why the
    answer is invalid, the parse error when there is one; None when valid), ``disallowed_blocks``.
    """

    domain_name = "machines"

    def __init__(self, task: str = "car", level: int = 1, prompt: str | None = None, *,
                 max_text: int = DEFAULT_MAX_TEXT, reference_quirks: bool = True,
                 allowed_blocks_only: bool = False, record_timings: bool = False,
                 render_mode: str | None = None) -> None:
        self.task_spec: LevelScorer = level_scorer(task, int(level))  # KeyError for unknown task/level
        self.task, self.level = task, int(level)
        self.reference_quirks = bool(reference_quirks)
        self.allowed_blocks_only = bool(allowed_blocks_only)
        self.prompt = self.task_spec.level.prompt if prompt is None else str(prompt)
        self.system_prompt = machine_system_prompt(self.task_spec.level)
        self._task = Task("machines", task, prompt=self.prompt,
                          allowed_parts=tuple(sorted(self.task_spec.level.allowed_blocks, key=type_order)),
                          options={"level": self.level, "reference_quirks": self.reference_quirks})
        self._domain = get_domain("machines")
        super().__init__(observations=[self.prompt], max_text=max_text, record_timings=record_timings,
                         render_mode=render_mode)

    def _new_episode(self, options: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        lvl = self.task_spec.level
        info = {
            "task": self.task, "level": self.level, "level_name": lvl.name,
            "allowed_blocks": list(self._task.allowed_parts or ()),
            "win_condition": lvl.win_condition, "duration": float(getattr(lvl, "duration", 0.0)),
            "reference_quirks": self.reference_quirks, "system_prompt": self.system_prompt,
            "messages": [{"role": "system", "content": self.system_prompt},
                         {"role": "user", "content": self.prompt}],
        }
        return self.prompt, info

    def _evaluate(self, text: str) -> tuple[float, Evaluation, str | None, dict[str, Any]]:
        ev = self._domain.evaluate(text, self._task)  # type: ignore[arg-type]  # takes raw text
        reward, reason = float(ev.reward), None
        disallowed = list(ev.details.get("disallowed_blocks", []))
        if not ev.valid:
            issues = ev.details.get("issues") or []
            file_invalid = not ev.details.get("file_valid", True)
            reason = str(ParseIssue(**issues[0])) if file_invalid and issues else None
            reason = reason or (ev.errors[0].splitlines()[0] if ev.errors else "invalid machine")
        elif disallowed and self.allowed_blocks_only:
            reward, reason = 0.0, f"blocks not allowed on this level: {', '.join(disallowed)}"
        return reward, ev, reason, {"disallowed_blocks": disallowed}

    def _refused_extra(self) -> dict[str, Any]:
        return {"disallowed_blocks": []}


# --- LEGO ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BrickTarget:
    """A caption and, optionally, the reference structure (brick text) it describes."""

    caption: str
    target: str | None = None


DEFAULT_BRICK_TARGETS: tuple[tuple[str, str], ...] = (
    ("A tall square tower, one 2x2 brick wide and ten bricks high.", "tower"),
    ("A small table: four thin square legs three bricks high under a flat top.", "table"),
    ("A straight, narrow wall of staggered bricks, eight studs long and six bricks high.", "wall"),
    ("A narrow staircase climbing eight steps.", "stairs_8"),
    ("A narrow arch: two stepped pillars leaning towards each other, joined at the top.", "arch"),
)
"""(caption, bundled example name) pairs: the default targets of ``BrickDesignEnv``."""


def default_brick_targets() -> list[BrickTarget]:
    """``DEFAULT_BRICK_TARGETS`` with the examples' brick text loaded."""
    from brickfield.lego.examples import example_text

    return [BrickTarget(caption, example_text(name)) for caption, name in DEFAULT_BRICK_TARGETS]


def _as_target(item: BrickTarget | tuple[str, str | None] | Sequence[Any]) -> BrickTarget:
    if isinstance(item, BrickTarget):
        return item
    caption, target = item
    return BrickTarget(str(caption), None if target is None else str(target))


def _check_target(t: BrickTarget, max_bricks: int) -> None:
    """A target must be exact brick text (one ``HxW (x,y,z)`` per line) of library bricks inside the
    grid; errors are the caller's, so they raise ``ValueError`` at construction, not at ``step``."""
    if t.target is None:
        return
    try:
        parsed = parse_text(t.target, strict=True, max_bricks=max_bricks)
    except ParseError as exc:
        raise ValueError(f"target for caption {t.caption!r} is not brick text: {exc}") from None
    report = check_structure(parsed)
    bad = [f"item {i}: {', '.join(r)}" for i, r in enumerate(report.reasons)
           if NOT_IN_LIBRARY in r or OUT_OF_BOUNDS in r]
    if bad or not parsed.structure.bricks:
        raise ValueError(f"target for caption {t.caption!r} is not usable: {'; '.join(bad) or 'no bricks'}")


class BrickDesignEnv(_TextDesignEnv):
    """Build a LEGO structure from a caption (``brickfield/BrickDesign-v0``).

    Observation: BrickGPT's instruction for the episode's caption (``brick_instruction``). Targets:
    ``target`` (brick text) with ``caption``, or a list ``targets`` of (caption, target-or-None)
    pairs from which ``reset`` draws one with the seeded RNG (``options={"index": i}`` picks one);
    with neither, the bundled ``DEFAULT_BRICK_TARGETS``; a ``caption`` alone is a free-design task.

    Reward: with a target, the PVPO reward ``(1 - lam)·R_phys + lam·R_vox`` (1.0 for the exact target);
    without one, ``R_phys × stable``: the fraction of valid brick lines, gated by BrickGPT's acceptance
    rule that the whole structure is stable (every line valid, no floating brick, all stability
    scores < 1). Answers with more than ``max_bricks`` bricks get 0 (the stability analysis time grows
    super-linearly). Step info: ``evaluation``, ``valid``, ``reward``, ``reason``, ``caption``,
    ``has_target``, ``stable``, ``r_phys`` and, with a target, ``r_vox``.
    """

    domain_name = "lego"

    def __init__(self, target: str | None = None, caption: str | None = None, lam: float = 0.5,
                 targets: Sequence[BrickTarget | tuple[str, str | None]] | None = None, *,
                 max_text: int = DEFAULT_MAX_TEXT, max_bricks: int = DEFAULT_MAX_BRICKS,
                 record_timings: bool = False, render_mode: str | None = None) -> None:
        if not 0.0 <= lam <= 1.0:
            raise ValueError(f"lam must be in [0, 1], got {lam}")
        if targets is not None and (target is not None or caption is not None):
            raise ValueError("give either targets or target/caption, not both")
        if targets is not None:
            items = [_as_target(t) for t in targets]
        elif target is not None or caption is not None:
            items = [BrickTarget(caption if caption is not None else "A LEGO structure.", target)]
        else:
            items = default_brick_targets()
        if not items:
            raise ValueError("targets is empty")
        self.lam, self.max_bricks = float(lam), int(max_bricks)
        for t in items:
            _check_target(t, self.max_bricks)
        self.targets: tuple[BrickTarget, ...] = tuple(items)
        self._prompts = tuple(brick_instruction(t.caption) for t in self.targets)
        self._index = 0
        self._domain = get_domain("lego")
        super().__init__(observations=self._prompts, max_text=max_text, record_timings=record_timings,
                         render_mode=render_mode)

    @property
    def current(self) -> BrickTarget:
        """The caption/target of the current (or last) episode."""
        return self.targets[self._index]

    def _new_episode(self, options: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        if "index" in options:
            index = int(options["index"])
            if not 0 <= index < len(self.targets):
                raise ValueError(f"options['index'] must be in [0, {len(self.targets)}), got {index}")
        else:
            index = int(self.np_random.integers(len(self.targets)))
        self._index = index
        t, prompt = self.targets[index], self._prompts[index]
        info = {"index": index, "caption": t.caption, "target": t.target, "has_target": t.target is not None,
                "lam": self.lam, "reward_mode": "pvpo" if t.target is not None else "phys_x_stable",
                "system_prompt": BRICK_SYSTEM_PROMPT,
                "messages": [{"role": "system", "content": BRICK_SYSTEM_PROMPT},
                             {"role": "user", "content": prompt}]}
        return prompt, info

    def _evaluate(self, text: str) -> tuple[float, Evaluation, str | None, dict[str, Any]]:
        t = self.current
        parsed = parse_text(text, world_dim=DEFAULT_WORLD_DIM, max_bricks=self.max_bricks)  # ParseError
        task = Task("lego", f"brick_design_{self._index}", prompt=self._prompts[self._index],
                    target=t.target, options={"lam": self.lam})
        ev = self._domain.evaluate(parsed, task)
        stable = bool(ev.details.get("stable", False))
        r_phys = float(ev.metrics.get("fraction_valid", 0.0))
        extra = self._step_info(stable, r_phys, float(ev.metrics.get("r_vox", 0.0)))
        reward = float(ev.reward) if t.target is not None else r_phys * float(stable)
        reason = None
        if not (ev.valid and stable):
            reason = ev.errors[0] if ev.errors else "invalid structure"
        return reward, ev, reason, extra

    def _refused_extra(self) -> dict[str, Any]:
        return self._step_info(False, 0.0, 0.0)

    def _step_info(self, stable: bool, r_phys: float, r_vox: float) -> dict[str, Any]:
        """The brick-specific step-info keys (``r_vox`` only with a target)."""
        t = self.current
        extra: dict[str, Any] = {"caption": t.caption, "has_target": t.target is not None, "stable": stable,
                                 "r_phys": r_phys}
        if t.target is not None:
            extra["r_vox"] = r_vox
        return extra


# --- registration ---------------------------------------------------------------------------------
_ENTRY_POINTS = {MACHINE_ENV_ID: f"{__name__}:MachineDesignEnv", BRICK_ENV_ID: f"{__name__}:BrickDesignEnv"}


def register_envs() -> None:
    """Register both environment ids with Gymnasium (idempotent; run on ``import brickfield.envs``).

    Also the ``gymnasium.envs`` entry-point function for Gymnasium versions that load plugins."""
    # Imported here: Gymnasium 0.26-0.29 call this while `gymnasium` itself is still importing.
    from gymnasium.envs.registration import register, registry

    for env_id, entry_point in _ENTRY_POINTS.items():
        spec = registry.get(env_id)
        if spec is not None and spec.entry_point == entry_point:
            continue
        register(id=env_id, entry_point=entry_point, nondeterministic=False)


register_envs()
