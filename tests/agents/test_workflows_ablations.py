"""The paper's ablation switches change what the agents are asked and who is asked."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

import pytest

from brickfield.agents.workflows import ABLATIONS, Ablations, WorkflowConfig, WorkflowError, run_workflow
from brickfield.machines.design.parse import parse_tree
from brickfield.machines.design.placement import to_global
from brickfield.machines.design.validity import check_tree
from tests.agents._workflow_fakes import CATAPULT, ScriptedModel, role_of, script


class Recorder:
    """The script, remembering every user message per role."""

    def __init__(self) -> None:
        self.users: dict[str, list[str]] = defaultdict(list)
        self.systems: dict[str, list[str]] = defaultdict(list)

    def __call__(self, messages: list[dict[str, Any]], seed: int | None) -> str:
        role = role_of(messages)
        self.users[role].append(messages[1]["content"])
        self.systems[role].append(messages[0]["content"])
        return script(messages, seed)


def run(switches: list[str], workflow: str = "iterative", **kwargs: Any) -> tuple[Recorder, Any]:
    rec = Recorder()
    result = run_workflow(workflow, "catapult:1", ScriptedModel(rec),
                          config=WorkflowConfig(ablations=Ablations.from_switches(switches)), **kwargs)
    return rec, result


def blind_and_env(rec: Recorder) -> tuple[list[str], list[str]]:
    """Refiner messages before any simulation, and after."""
    blind = [u for u in rec.users["refiner"] if "Score so far: not simulated yet" in u]
    env = [u for u in rec.users["refiner"] if "Score so far: not simulated yet" not in u]
    return blind, env


def test_full_system_prompts() -> None:
    rec, result = run([], iterations=1)
    assert result.config["ablations"] == Ablations().to_dict()
    blind, env = blind_and_env(rec)
    assert len(blind) == 4 and len(env) == 4
    assert all("order_id 13: may be weak" in u for u in blind)  # the inspection reaches the refiner
    assert all("[Target: Boulder" in u and "[Required feedback]" in u for u in env)
    assert all("Frame: x right" in u for u in rec.users["inspector"] + rec.users["refiner"])


def test_no_inspector() -> None:
    rec, result = run(["no-inspector"], iterations=1)
    assert "inspector" not in result.role_calls and not rec.users["inspector"]
    blind, _ = blind_and_env(rec)
    assert blind and all("Inspection report:\n(none)" in u for u in blind)


def test_no_querier() -> None:
    rec, result = run(["no_querier"], iterations=1)
    assert "querier" not in result.role_calls
    _, env = blind_and_env(rec)
    assert env and all("[Target: Boulder" in u and "Details requested from the simulation:\n(none)" in u
                       for u in env)


def test_score_only_feedback() -> None:
    rec, result = run(["score-only-feedback"], iterations=1)
    assert "querier" not in result.role_calls  # as in the paper: the score replaces the querier too
    _, env = blind_and_env(rec)
    assert env and all("Simulation feedback:\nstatus ok, reward" in u and "[Target" not in u for u in env)


def test_no_3d_info() -> None:
    rec, _ = run(["no-3d-info"], iterations=1)
    users = [u for role in ("inspector", "refiner", "querier") for u in rec.users[role]]
    assert users and not any("Frame: x right" in u for u in users)
    assert all("(not provided)" in u for u in users)
    rec, _ = run(["no-3d-info"], workflow="hierarchical")
    assert not any("Frame: x right" in u for u in rec.users["builder"])


def test_no_history_hides_the_lineage() -> None:
    rec, _ = run([], search="random", iterations=3)
    _, env = blind_and_env(rec)
    assert sum("Edits that led to this machine" in u for u in env) == 2  # every node below the root
    rec, _ = run(["no-history"], search="random", iterations=3)
    _, env = blind_and_env(rec)
    assert len(env) == 3 and not any("Edits that led" in u for u in env)


def global_script(messages: list[dict[str, Any]], seed: int | None) -> str:
    """The script, writing machines in the global-position form when the run asks for it."""
    role = role_of(messages)
    assert "GLOBAL-POSITION form" in messages[0]["content"] or role == "meta_designer"
    if role in ("designer", "single_agent"):
        placed = check_tree(parse_tree(json.dumps(CATAPULT))).machine
        return "```json\n" + json.dumps(to_global(placed)) + "\n```"
    if role == "refiner":
        machine = json.loads(messages[1]["content"].split("```json\n")[1].split("\n```")[0])
        return f"```edits\nRemove [{len(machine) - 2}]\n```"  # the last block (the list starts with GP)
    return script(messages, seed)


def test_global_position_representation() -> None:
    tree_run = run_workflow("single", "catapult:1", ScriptedModel())
    config = WorkflowConfig(ablations=Ablations(global_position=True))
    result = run_workflow("single", "catapult:1", ScriptedModel(global_script), config=config)
    assert result.best_evaluation.status == "ok"
    assert result.best.reward == pytest.approx(tree_run.best.reward)
    seen: list[str] = []

    def recording(messages: list[dict[str, Any]], seed: int | None) -> str:
        if role_of(messages) in ("refiner", "inspector", "querier"):
            seen.append(messages[1]["content"])
        return global_script(messages, seed)

    result = run_workflow("iterative", "catapult:1", ScriptedModel(recording), config=config, iterations=1)
    assert result.completed and result.roles["refiner"].malformed == 0
    assert seen and all('"GP"' in u and '"parent"' not in u for u in seen)
    assert result.best_text.startswith('[{"id": "0"')  # results stay construction trees


def test_switch_names() -> None:
    assert Ablations.from_switches(list(ABLATIONS)).switches == list(ABLATIONS)
    assert Ablations.from_switches([]).switches == []
    assert not Ablations(score_only_feedback=True).uses_querier
    with pytest.raises(WorkflowError):
        Ablations.from_switches(["no-designer"])
