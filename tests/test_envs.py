"""Gymnasium environments: registration, API conformance (check_env), rewards, determinism, seeds."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from importlib.metadata import PackageNotFoundError, distribution

import pytest

gym = pytest.importorskip("gymnasium")

from gymnasium.error import InvalidAction, ResetNeeded  # noqa: E402
from gymnasium.utils.env_checker import check_env  # noqa: E402

from brickfield.core import get_domain  # noqa: E402
from brickfield.envs import (  # noqa: E402
    BRICK_ENV_ID,
    MACHINE_ENV_ID,
    BrickDesignEnv,
    MachineDesignEnv,
    register_envs,
)
from brickfield.lego.examples import example_text  # noqa: E402
from brickfield.lego.prompts import brick_instruction  # noqa: E402
from brickfield.lego.tasks import DEFAULT_SUITE  # noqa: E402
from brickfield.machines.reference import reference_machine  # noqa: E402
from brickfield.machines.scoring import available_tasks, level_scorer  # noqa: E402


def fenced(obj: object) -> str:
    """An LLM-style answer: prose around a ```json block."""
    return f"Here is my machine:\n```json\n{json.dumps(obj, indent=2)}\n```\nIt should drive far."


REF_CAR = fenced(reference_machine("car"))


# --- registration -------------------------------------------------------------------------------------
@pytest.mark.parametrize(("env_id", "kwargs", "cls"), [
    (MACHINE_ENV_ID, {"task": "car:1"}, MachineDesignEnv),
    (MACHINE_ENV_ID, {"task": "catapult", "level": 1}, MachineDesignEnv),
    (BRICK_ENV_ID, {}, BrickDesignEnv),
    (BRICK_ENV_ID, {"caption": "A chair."}, BrickDesignEnv),
])
def test_make_both_ids(env_id: str, kwargs: dict, cls: type) -> None:
    env = gym.make(env_id, **kwargs)
    assert isinstance(env.unwrapped, cls)
    assert isinstance(env.observation_space, gym.spaces.Text)
    assert isinstance(env.action_space, gym.spaces.Text)
    obs, info = env.reset(seed=0)
    assert obs in env.observation_space and info["messages"][-1] == {"role": "user", "content": obs}
    env.close()


def test_register_envs_is_idempotent() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # re-registering would warn "Overriding environment"
        register_envs()
        register_envs()
    assert {MACHINE_ENV_ID, BRICK_ENV_ID} <= set(gym.envs.registry)


def test_import_brickfield_registers_the_ids() -> None:
    """Gymnasium >= 1.0 loads no plugins: ``import brickfield`` registers the ids (cheaply: the env
    module itself is imported only by ``gymnasium.make``)."""
    code = ("import sys, gymnasium, brickfield\n"
            "assert 'brickfield.envs.design_envs' not in sys.modules\n"
            "env = gymnasium.make('brickfield/MachineDesign-v0', task='car:1')\n"
            "print(env.reset(seed=0)[0])\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == level_scorer("car", 1).level.prompt


def test_gymnasium_entry_point_declared() -> None:
    """For Gymnasium 0.26-0.29, which load `gymnasium.envs` entry points (namespace = entry name)."""
    try:
        eps = distribution("brickfield").entry_points
    except PackageNotFoundError:
        pytest.skip("brickfield is not installed (no package metadata)")
    ep = next((e for e in eps if e.group == "gymnasium.envs"), None)
    assert ep is not None and ep.name == "brickfield"
    assert ep.load() is register_envs


def test_import_without_gymnasium_does_not_need_it() -> None:
    code = ("import sys, importlib.util\n"
            "real = importlib.util.find_spec\n"
            "importlib.util.find_spec = lambda n, *a: None if n == 'gymnasium' else real(n, *a)\n"
            "import brickfield\n"
            "print('gymnasium' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


# --- API conformance ----------------------------------------------------------------------------------
@pytest.mark.parametrize(("env_id", "kwargs"), [
    (MACHINE_ENV_ID, {"task": "car:1"}),
    (MACHINE_ENV_ID, {"task": "catapult:1"}),
    (MACHINE_ENV_ID, {"tasks": "car"}),
    (BRICK_ENV_ID, {}),
    (BRICK_ENV_ID, {"caption": "A chair."}),
])
def test_check_env_passes_without_skips_or_warnings(env_id: str, kwargs: dict) -> None:
    env = gym.make(env_id, **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any checker warning (determinism, render, spaces) fails
        check_env(env.unwrapped)


def test_step_before_reset_and_after_termination_raise() -> None:
    raw = MachineDesignEnv()
    with pytest.raises(ResetNeeded):
        raw.step("[]")
    raw.reset(seed=0)
    _, _, terminated, truncated, _ = raw.step("[]")
    assert terminated is True and truncated is False
    with pytest.raises(ResetNeeded):
        raw.step("[]")
    wrapped = gym.make(BRICK_ENV_ID)
    with pytest.raises(ResetNeeded):  # gymnasium's OrderEnforcing
        wrapped.step("1x1 (0,0,0)")
    wrapped.reset(seed=0)
    wrapped.step("1x1 (0,0,0)")
    with pytest.raises(ResetNeeded):
        wrapped.step("1x1 (0,0,0)")


def test_non_text_action_is_a_caller_error_but_bytes_are_text() -> None:
    env = MachineDesignEnv()
    env.reset(seed=0)
    with pytest.raises(InvalidAction):
        env.step(42)  # type: ignore[arg-type]
    _, reward, *_ = env.step(REF_CAR.encode())
    assert reward >= 30.0


# --- machines -----------------------------------------------------------------------------------------
def test_reference_car_scores_over_30_m() -> None:
    env = gym.make(MACHINE_ENV_ID, task="car:1")
    obs, info = env.reset(seed=0)
    assert obs == level_scorer("car", 1).level.prompt and info["task_id"] == "machines/car:1"
    obs2, reward, terminated, truncated, info = env.step(REF_CAR)
    assert obs2 == obs and terminated is True and truncated is False
    assert isinstance(reward, float) and reward >= 30.0
    ev = info["evaluation"]
    assert info["valid"] and ev["valid"] and info["reason"] is None and info["reward"] == reward
    assert ev["reward"] == pytest.approx(reward) and ev["task_id"] == "machines/car:1" and info["success"]
    assert ev["metrics"]["distance"] >= 30.0 and ev["details"]["disallowed_blocks"] == []
    assert "timings" not in ev and "timings" not in info  # wall clock kept out of info by default
    json.dumps(info)  # plain JSON


@pytest.mark.parametrize(("answer", "code"), [
    ("I cannot design that.", "bad_json"),
    ("", "bad_json"),
    ('```json\n[{"id": "0", "order_id": 0}]\n```', "wrong_keys"),
])
def test_garbage_machine_gets_zero_with_reason(answer: str, code: str) -> None:
    env = MachineDesignEnv("car:1")
    env.reset(seed=0)
    _, reward, terminated, _, info = env.step(answer)
    assert reward == 0.0 and terminated
    assert not info["valid"] and not info["evaluation"]["valid"] and info["evaluation"]["issues"]
    assert info["evaluation"]["issues"][0]["code"] == code and info["reason"]


def test_answer_longer_than_the_task_limit_is_refused() -> None:
    env = MachineDesignEnv()
    env.reset(seed=0)
    _, reward, _, _, info = env.step(" " * (env.task.limits.max_text_chars + 1))
    assert reward == 0.0 and info["status"] == "refused" and "characters" in info["reason"]


def test_foreign_blocks_are_invalid_by_default_and_scored_when_allowed() -> None:
    car = [*reference_machine("car"), {"id": "5", "order_id": 6, "parent": 0, "bp_id": 4}]  # hinge on top
    assert "5" not in level_scorer("car", 1).level.allowed_blocks
    strict, lenient = MachineDesignEnv(), MachineDesignEnv(allow_any_block=True)
    strict.reset(seed=0)
    lenient.reset(seed=0)
    _, r_strict, _, _, info_s = strict.step(fenced(car))
    _, r_lenient, _, _, info_l = lenient.step(fenced(car))
    assert info_l["valid"] and r_lenient > 0 and info_l["evaluation"]["details"]["disallowed_blocks"] == ["5"]
    assert r_strict == 0.0 and info_s["evaluation"]["issues"][0]["code"] == "block_not_allowed"


def test_fetch_machine_wins_through_the_env() -> None:
    env = gym.make(MACHINE_ENV_ID, task="fetch:1")
    env.reset(seed=0)
    _, reward, _, _, info = env.step(fenced(reference_machine("fetch")))
    assert reward == 1.0 and info["success"]


@pytest.mark.parametrize("name", available_tasks())
def test_every_scorable_level_gets_an_env(name: str) -> None:
    task, level = name.rsplit("_level", 1)
    env = MachineDesignEnv(name)
    spec = level_scorer(task, int(level))
    obs, info = env.reset(seed=0)
    assert obs == spec.level.prompt and obs in env.observation_space
    assert info["task"]["params"]["task"] == task and info["task"]["params"]["level"] == int(level)
    blocks = info["system_prompt"].split("Blocks allowed on this level", 1)[1]
    listed = {line.split()[1] for line in blocks.splitlines() if line.startswith("- ")}
    assert listed == set(spec.level.allowed_blocks)
    assert info["messages"] == [{"role": "system", "content": info["system_prompt"]},
                                {"role": "user", "content": obs}]


def test_reset_options_switch_level_variant_and_task() -> None:
    env = MachineDesignEnv("car:1")
    assert env.reset(seed=0, options={"level": 2})[1]["task_id"] == "machines/car:2"
    assert env.reset(options={"variant": 5})[1]["task_id"] == "machines/car:2@5"
    obs, info = env.reset(options={"task": "catapult:3"})
    assert info["task_id"] == "machines/catapult:3" and obs in env.observation_space
    pool = MachineDesignEnv(tasks="car")
    seen = {pool.reset(seed=s)[1]["task_id"] for s in range(30)}
    assert len(seen) > 2 and all(s.startswith("machines/car:") for s in seen)
    with pytest.raises(ValueError):
        env.reset(options={"task": 3.5})


def test_unknown_level_fails_at_construction() -> None:
    from brickfield.core import TaskSpecError

    with pytest.raises(TaskSpecError):
        MachineDesignEnv("car", 99)


def test_machine_determinism_across_instances() -> None:
    a, b = MachineDesignEnv(), MachineDesignEnv()
    assert a.reset(seed=3) == b.reset(seed=3)
    ra, rb = a.step(REF_CAR), b.step(REF_CAR)
    assert ra[1] == rb[1] and ra[4] == rb[4]


def test_record_timings_adds_wall_clock_in_timings() -> None:
    env = MachineDesignEnv(record_timings=True)
    env.reset(seed=0)
    info = env.step(REF_CAR)[4]
    assert "timings" not in info["evaluation"] and info["timings"]["sim_s"] > 0.0


def test_evaluator_bug_is_reported_not_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    env = MachineDesignEnv()
    env.reset(seed=0)
    dom = get_domain("machines")

    def boom(parsed, task):  # type: ignore[no-untyped-def]
        raise RuntimeError("simulated bug")
    monkeypatch.setattr(dom, "_evaluate", boom)
    _, reward, terminated, _, info = env.step(REF_CAR)
    assert reward == 0.0 and terminated and info["status"] == "error"
    assert info["evaluation"]["reward"] is None and "simulated bug" in info["reason"]


def test_render_ansi() -> None:
    env = MachineDesignEnv(render_mode="ansi")
    env.reset(seed=0)
    assert env.render() == env.reset(seed=0)[0]
    env.step("nope")
    text = env.render()
    assert "status: unparseable" in text and "bad_json" in text
    assert MachineDesignEnv().render() is None


# --- LEGO ---------------------------------------------------------------------------------------------
def test_brick_prompt_is_brickgpt_instruction() -> None:
    assert brick_instruction("A red chair.") == (
        "Create a LEGO model of the input. Format your response as a list of bricks: <brick dimensions> "
        "<brick position>, where the brick position is (x,y,z).\n"
        "Allowed brick dimensions are 2x4, 4x2, 2x6, 6x2, 1x2, 2x1, 1x4, 4x1, 1x6, 6x1, 1x8, 8x1, 1x1, 2x2.\n"
        "All bricks are 1 unit tall.\n\n### Input:\nA red chair.")
    env = BrickDesignEnv(target=example_text("tower"), caption="A tower.")
    obs, info = env.reset(seed=0)
    assert obs == brick_instruction("A tower.") and info["system_prompt"] == "You are a helpful assistant."


@pytest.mark.parametrize("index", range(len(DEFAULT_SUITE)))
def test_exact_target_gets_one_and_garbage_zero(index: int) -> None:
    env = gym.make(BRICK_ENV_ID)
    _, info = env.reset(seed=0, options={"task": index})
    params = info["task"]["params"]
    assert params["caption"] == DEFAULT_SUITE[index][1] and params["target"]
    _, reward, terminated, truncated, step_info = env.step(f"Sure!\n```\n{params['target']}```")
    assert reward == pytest.approx(1.0) and terminated and not truncated and step_info["success"]
    assert step_info["components"]["r_vox"] == pytest.approx(1.0) and step_info["reason"] is None
    env.reset(seed=0, options={"task": index})
    _, reward, _, _, step_info = env.step("I like turtles.")
    assert reward == 0.0 and step_info["status"] == "unparseable" and not step_info["valid"]


def test_partial_answer_gets_partial_pvpo_reward() -> None:
    env = BrickDesignEnv(target=example_text("tower"), caption="A tower.")
    env.reset(seed=0)
    half = "\n".join(example_text("tower").splitlines()[:5])
    _, reward, _, _, info = env.step(half)
    comps = info["components"]
    assert 0.5 < reward < 1.0 and comps["r_phys"] == 1.0 and 0.0 < comps["r_vox"] < 1.0


def test_free_design_reward_is_validity_times_stability() -> None:
    env = BrickDesignEnv(caption="Anything that stands.")
    _, info = env.reset(seed=0)
    assert info["task"]["params"]["target"] is None
    assert env.step(example_text("tower"))[1] == 1.0
    for unstable in ("stairs_9", "floating"):  # all lines valid (stairs_9) or not, but unstable
        env.reset(seed=0)
        _, reward, _, _, info = env.step(example_text(unstable))
        assert reward == 0.0 and info["components"]["stable"] == 0.0 and info["reason"]


def test_too_many_bricks_is_refused() -> None:
    env = BrickDesignEnv(caption="A long wall.", max_bricks=5)
    env.reset(seed=0)
    _, reward, _, _, info = env.step(example_text("tower"))  # 10 bricks
    assert reward == 0.0 and info["status"] == "refused"
    assert info["evaluation"]["issues"][0]["code"] == "too_many_bricks"


def test_seeds_pick_targets_deterministically() -> None:
    env = gym.make(BRICK_ENV_ID)
    picks = [env.reset(seed=s)[1]["task_id"] for s in range(20)]
    assert picks == [env.reset(seed=s)[1]["task_id"] for s in range(20)]
    assert len(set(picks)) > 1
    other = gym.make(BRICK_ENV_ID)
    assert [env.reset(seed=7)[0], *(env.reset()[0] for _ in range(5))] == \
           [other.reset(seed=7)[0], *(other.reset()[0] for _ in range(5))]
    with pytest.raises(ValueError):
        env.reset(options={"task": len(DEFAULT_SUITE)})


def test_brick_determinism_across_instances() -> None:
    a, b = BrickDesignEnv(), BrickDesignEnv()
    answer = example_text("tower") + "2x2 (0,0,0)\n"
    for seed in range(3):
        assert a.reset(seed=seed) == b.reset(seed=seed)
        ra, rb = a.step(answer), b.step(answer)
        assert ra[1] == rb[1] and ra[4] == rb[4]


def test_custom_targets_and_bad_arguments() -> None:
    env = BrickDesignEnv(targets=[("A tower.", example_text("tower")), ("Free build.", None)])
    assert env.reset(options={"task": 1})[1]["task"]["params"]["target"] is None
    for bad in ("2x2 (0,0,0)\nnot a brick", "3x3 (0,0,0)", "2x2 (0,0,50)", ""):
        with pytest.raises(ValueError, match="target"):
            BrickDesignEnv(target=bad, caption="x")
    with pytest.raises(ValueError):
        BrickDesignEnv(target=example_text("tower"), targets=[("a", None)])
    with pytest.raises(ValueError):
        BrickDesignEnv(lam=1.5)
    with pytest.raises(ValueError):
        BrickDesignEnv(targets=[])
