"""LEGO task specs: free design from a caption, or a caption with a target structure (PVPO).

Reward policy (one definition, used by the domain, the env, the CLI and the RL adapters):

==================  ==========================================================  ==================
task                reward                                                      success
==================  ==========================================================  ==================
free design         ``valid × stable``: the fraction of valid brick lines,      reward >= 1
                    gated by the stability analysis (0 unless every brick is
                    valid and the structure stands)
with a target       PVPO ``(1 - λ)·R_phys + λ·R_vox`` (λ = 0.5, ``lam``); also  valid and
                    for invalid designs (R_phys is the fraction of valid lines) r_vox >= 0.9
==================  ==========================================================  ==================

Unparseable answers, answers over the brick limit and evaluator errors are not designs: reward 0
(``unparseable``/``refused``) or None (``error``). An empty answer is ``invalid`` with reward 0.
"""

from __future__ import annotations

from typing import Any

from brickfield.core.task import Limits, RewardSpec, SuccessRule, TaskSpec, TaskSpecError
from brickfield.lego.library import DEFAULT_WORLD_DIM
from brickfield.lego.prompts import BRICK_SYSTEM_PROMPT, brick_instruction
from brickfield.lego.rewards import DEFAULT_LAMBDA
from brickfield.lego.voxels import MAX_ALIGN

__all__ = ["DEFAULT_MAX_BRICKS", "DEFAULT_SUITE", "FREE_REWARD", "SUITES", "lego_task", "lego_tasks",
           "pvpo_reward_spec"]

DEFAULT_MAX_BRICKS = 2_000
"""BrickGPT's generation cap; the stability analysis time grows super-linearly beyond it."""

DEFAULT_SUITE: tuple[tuple[str, str, str], ...] = (
    ("tower", "A tall square tower, one 2x2 brick wide and ten bricks high.", "tower"),
    ("table", "A small table: four thin square legs three bricks high under a flat top.", "table"),
    ("wall", "A straight, narrow wall of staggered bricks, eight studs long and six bricks high.", "wall"),
    ("stairs", "A narrow staircase climbing eight steps.", "stairs_8"),
    ("arch", "A narrow arch: two stepped pillars leaning towards each other, joined at the top.", "arch"),
)
"""(task name, caption, bundled example used as the target)."""

FREE_REWARD = RewardSpec((("valid", 1.0), ("stable", 1.0)), "product", SuccessRule("reward", ">=", 1.0),
                         "fraction of valid brick lines x stability (0/1)")


def pvpo_reward_spec(lam: float) -> RewardSpec:
    """PVPO: ``(1 - lam)·r_phys + lam·r_vox``; success when the geometry matches (r_vox >= 0.9)."""
    return RewardSpec((("r_phys", 1.0 - lam), ("r_vox", lam)), "sum", SuccessRule("r_vox", ">=", 0.9),
                      f"PVPO (1 - {lam:g})·R_phys + {lam:g}·R_vox", grade_invalid=True)


def _validate_target(target: str, world_dim: int, max_bricks: int) -> str:
    from brickfield.core.errors import ParseError
    from brickfield.lego.checks import NOT_IN_LIBRARY, OUT_OF_BOUNDS, check_structure
    from brickfield.lego.textformat import parse_text

    try:
        parsed = parse_text(target, strict=True, max_bricks=max_bricks, world_dim=world_dim)
    except ParseError as exc:
        raise TaskSpecError(f"target is not brick text: {exc}") from None
    report = check_structure(parsed)
    bad = [f"item {i}: {', '.join(r)}" for i, r in enumerate(report.reasons)
           if NOT_IN_LIBRARY in r or OUT_OF_BOUNDS in r]
    if bad or not parsed.structure.bricks:
        raise TaskSpecError(f"target is not usable: {'; '.join(bad) or 'no bricks'}")
    return parsed.structure.to_text()


def lego_task(name: str = "free", *, caption: str | None = None, target: str | None = None,
              lam: float = DEFAULT_LAMBDA, align: int = 0, world_dim: int = DEFAULT_WORLD_DIM,
              max_bricks: int = DEFAULT_MAX_BRICKS, **extra: Any) -> TaskSpec:
    """A LEGO task. ``name`` is a default-suite name (``tower``, ``table``, ...; caption and target
    filled in) or any id of your own with ``caption`` (and ``target`` brick text for a PVPO task)."""
    if extra:
        raise TaskSpecError(f"unknown LEGO task parameter(s): {sorted(extra)}")
    suite = {n: (c, ex) for n, c, ex in DEFAULT_SUITE}
    if name in suite and caption is None:
        from brickfield.lego.examples import example_text

        caption, example = suite[name]
        target = example_text(example) if target is None else target
    if not caption or not isinstance(caption, str):
        raise TaskSpecError(f"LEGO task {name!r} needs a caption (default-suite names: {sorted(suite)})")
    if not 0.0 <= float(lam) <= 1.0:
        raise TaskSpecError(f"lam must be in [0, 1], got {lam}")
    if not 0 <= int(align) <= MAX_ALIGN:
        raise TaskSpecError(f"align must be in [0, {MAX_ALIGN}], got {align}")
    if not 1 <= int(world_dim) <= 256:
        raise TaskSpecError(f"world_dim must be in [1, 256], got {world_dim}")
    if not 1 <= int(max_bricks) <= 100_000:
        raise TaskSpecError(f"max_bricks must be in [1, 100000], got {max_bricks}")
    if target is not None:
        target = _validate_target(str(target), int(world_dim), int(max_bricks))
    params = {"caption": caption, "target": target, "lam": float(lam), "align": int(align),
              "world_dim": int(world_dim), "max_bricks": int(max_bricks)}
    messages = ({"role": "system", "content": BRICK_SYSTEM_PROMPT},
                {"role": "user", "content": brick_instruction(caption)})
    reward = FREE_REWARD if target is None else pvpo_reward_spec(float(lam))
    return TaskSpec.make("lego", name, params, messages=messages,
                         limits=Limits(max_parts=int(max_bricks), wall_seconds=60.0), reward=reward)


SUITES: dict[str, str] = {
    "default": "five captions with bundled target structures (PVPO reward)",
    "free": "the default captions as free-design tasks (validity x stability)",
    "procedural[:N[:SEED]]": "N (default 24) procedural objects with captions (lego.dataset), PVPO reward",
    "st2b:PATH[:SPLIT[:LIMIT]]": "a local StableText2Brick copy (lego.st2b), PVPO reward",
}


def _caption_targets(items: list[Any], prefix: str) -> list[TaskSpec]:
    return [lego_task(f"{prefix}/{c.id}", caption=c.caption, target=c.target) for c in items]


def lego_tasks(suite: str = "default") -> list[TaskSpec]:
    """Task specs of a suite (see ``SUITES``)."""
    if suite == "default":
        return [lego_task(name) for name, _, _ in DEFAULT_SUITE]
    if suite == "free":
        return [lego_task(f"free/{name}", caption=caption) for name, caption, _ in DEFAULT_SUITE]
    kind, _, rest = suite.partition(":")
    try:
        if kind == "procedural":
            from brickfield.lego.dataset import procedural_suite

            n, _, seed = rest.partition(":")
            return _caption_targets(procedural_suite(int(n or 24), int(seed or 0)), "procedural")
        if kind == "st2b" and rest:
            from brickfield.lego.st2b import st2b_suite

            path, _, tail = rest.partition(":")
            split, _, limit = tail.partition(":")
            return _caption_targets(st2b_suite(path, split or "test", int(limit) if limit else None), "st2b")
    except ValueError as exc:
        raise TaskSpecError(f"bad suite {suite!r}: {exc}") from None
    raise TaskSpecError(f"unknown LEGO suite {suite!r}; known: {sorted(SUITES)}")
