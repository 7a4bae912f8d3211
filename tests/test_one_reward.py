"""One answer, one reward: the domain, the Gym env, the CLI and evaluate_many agree, for both domains,
including the unstable stairs_9 and a machine built from blocks its level does not allow."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from brickfield.cli import app
from brickfield.core import evaluate_many, get_domain
from brickfield.lego.examples import example_text
from brickfield.machines.reference import reference_machine

gym = pytest.importorskip("gymnasium")

from brickfield.envs import BrickDesignEnv, MachineDesignEnv  # noqa: E402

RUNNER = CliRunner()

LEGO_CASES = [("stairs_9", "free"), ("stairs_8", "free"), ("tower", "free"), ("stairs_9", "target")]
MACHINE_CASES = [("car", "car:1"), ("fetch", "car:1"), ("fetch", "fetch:1"), ("catapult", "catapult:1")]


def _lego_task(kind: str, name: str):
    dom = get_domain("lego")
    if kind == "free":
        return dom.task("free", caption="Something that stands.")
    return dom.task("mine", caption="Something that stands.", target=example_text(name))


def _cli_reward(args: list[str]) -> float:
    result = RUNNER.invoke(app, args)
    assert "Traceback" not in result.output
    return json.loads(result.stdout)["reward"]


@pytest.mark.parametrize(("example", "kind"), LEGO_CASES)
def test_lego_same_reward_everywhere(example: str, kind: str, tmp_path) -> None:
    text = example_text(example)
    task = _lego_task(kind, example)
    dom = get_domain("lego")
    domain_reward = dom.evaluate_text(text, task).reward
    env = BrickDesignEnv(targets=[task])
    env.reset(seed=0)
    env_reward = env.step(text)[1]
    [batch] = evaluate_many([(text, task)], workers=1)
    path = tmp_path / "answer.txt"
    path.write_text(text)
    args = ["lego", "check", str(path), "--json", "--caption", task.param("caption")]
    if kind == "target":
        target = tmp_path / "target.txt"
        target.write_text(task.param("target"))
        args = ["lego", "score", str(path), "--target", str(target), "--json"]
    cli_reward = _cli_reward(args)
    assert domain_reward == env_reward == batch.reward == pytest.approx(cli_reward, abs=0)
    if example == "stairs_9" and kind == "free":
        assert domain_reward == 0.0  # valid bricks, but it falls: no reward for free design


@pytest.mark.parametrize(("machine", "level"), MACHINE_CASES)
def test_machine_same_reward_everywhere(machine: str, level: str, tmp_path) -> None:
    text = json.dumps(reference_machine(machine))
    dom = get_domain("machines")
    task = dom.task(level)
    domain_reward = dom.evaluate_text(text, task).reward
    env = MachineDesignEnv(level)
    env.reset(seed=0)
    env_reward = env.step(text)[1]
    [batch] = evaluate_many([(text, task)], workers=1)
    path = tmp_path / "machine.json"
    path.write_text(text)
    cli_reward = _cli_reward(["machine", "simulate", str(path), "--task", level, "--json"])
    assert domain_reward == env_reward == batch.reward == cli_reward
    if (machine, level) == ("fetch", "car:1"):
        assert domain_reward == 0.0  # blocks car 1 does not allow: invalid
    if (machine, level) == ("fetch", "fetch:1"):
        assert domain_reward == 1.0  # the task's default key binding drops the hook
