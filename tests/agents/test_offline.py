"""Offline designers: random trees, edit-language mutations and crossover, the cached evaluator, the
evolutionary search (determinism across worker counts, improvement, caps), its files and its command."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from brickfield.agents.edits import apply_edits, parse_edits
from brickfield.agents.offline import (
    CachedEvaluator,
    DesignSpace,
    Operators,
    RandomDesigner,
    SearchConfig,
    SearchSpaceError,
    bare_tree,
    evolve,
    type_weights,
)
from brickfield.agents.offline.cli import search_cmd
from brickfield.agents.offline.output import load_start, write_search
from brickfield.agents.offline.steps import EditStepError, add_step, apply_steps, remove_step, script_text
from brickfield.core import get_domain
from brickfield.machines.design.catalog import BLOCKS
from brickfield.machines.design.parse import parse_tree
from brickfield.machines.design.tree import ConstructionTree
from brickfield.machines.design.validity import check_machine
from brickfield.machines.io.bsg import bsg_to_tree
from brickfield.machines.levels.registry import get_level
from tests.machines._trees import CAR

TASKS = ("car:1", "catapult:1")


@pytest.fixture(scope="module")
def spaces() -> dict[str, DesignSpace]:
    return {t: DesignSpace.for_task(t) for t in TASKS}


@pytest.fixture(scope="module")
def samples(spaces: dict[str, DesignSpace]) -> dict[str, list[ConstructionTree]]:
    return {t: RandomDesigner(spaces[t]).samples(25, seed=7) for t in TASKS}


# --- design space ---------------------------------------------------------------------------------

def test_space_follows_the_level(spaces: dict[str, DesignSpace]) -> None:
    car, cat = spaces["car:1"], spaces["catapult:1"]
    assert set(car.weights) == set(get_level("car", 1).allowed_blocks) - {"0"}
    assert "36" not in car.weights and "36" in cat.weights and "30" in cat.weights
    assert "0" not in car.weights and car.linear_types == ("9",)
    # driving prior: powered wheels are proposed more often than plain blocks; throwing: boulders
    assert car.weights["2"] > car.weights["15"] and cat.weights["36"] > cat.weights["2"]
    assert type_weights({"0", "2"}, "Car_distance") == {"2": 4.0}


def test_space_rejects_unknown_tasks_and_bad_starts(spaces: dict[str, DesignSpace]) -> None:
    with pytest.raises(SearchSpaceError):
        DesignSpace.for_task("boat:1")
    with pytest.raises(SearchSpaceError):
        spaces["car:1"].load("not a tree")
    overlap = [*CAR, {"id": "15", "order_id": 6, "parent": 1, "bp_id": 2}]  # cube inside the left wheel
    with pytest.raises(SearchSpaceError, match="spatially"):
        spaces["car:1"].load(json.dumps(overlap))


def test_free_points_and_partners(spaces: dict[str, DesignSpace]) -> None:
    space = spaces["car:1"]
    ins = space.inspect(parse_tree(CAR, reference_quirks=False))
    g = ins.geometry
    occupied = {(int(g.owner[r]), int(g.point[r])) for r in np.flatnonzero(g.occupied)}
    assert occupied == {(0, 0), (0, 2), (0, 3), (1, 3), (1, 6)}
    # the root's left and right points are mirror images; its top point is its own mirror
    left, right, top = g.row(0, 2), g.row(0, 3), g.row(0, 4)
    assert g.mirror(left, 0.0) == right and g.mirror(top, 0.0) == top
    # "parallel" partners face the same way on the other side of the plane
    for r in np.flatnonzero(g.free):
        for m in g.parallel(int(r), 0.0):
            assert np.allclose(g.normal[m], g.normal[r]) and g.position[m][0] * g.position[r][0] < 0


# --- random designer ------------------------------------------------------------------------------

@pytest.mark.parametrize("task", TASKS)
def test_random_trees_are_valid_and_allowed(task: str, spaces: dict[str, DesignSpace],
                                            samples: dict[str, list[ConstructionTree]]) -> None:
    space, trees = spaces[task], samples[task]
    assert len({t.to_text() for t in trees}) >= 20  # varied
    for tree in trees:
        report = check_machine(tree.to_text())        # the reference-mode check the evaluator runs
        assert report.file_valid and report.valid, report.errors
        parse_tree(tree.to_text(), reference_quirks=False)  # strict reading too (edits address ids)
        assert 2 <= len(tree) <= 16
        assert set(tree.types[1:]) <= set(space.weights)


def test_random_designer_is_seeded(spaces: dict[str, DesignSpace]) -> None:
    designer = RandomDesigner(spaces["car:1"])
    a = [t.to_text() for t in designer.samples(5, seed=1)]
    assert a == [t.to_text() for t in designer.samples(5, seed=1)]
    assert a != [t.to_text() for t in designer.samples(5, seed=2)]
    with pytest.raises(ValueError):
        RandomDesigner(spaces["car:1"], min_blocks=5, max_blocks=3)


# --- mutations and crossover ----------------------------------------------------------------------

@pytest.mark.parametrize("task", TASKS)
def test_every_operator_keeps_trees_valid(task: str, spaces: dict[str, DesignSpace],
                                          samples: dict[str, list[ConstructionTree]]) -> None:
    space = spaces[task]
    ops = Operators(space)
    rng = np.random.default_rng(0)
    succeeded: set[str] = set()
    for tree in samples[task][:8]:
        ins = space.inspect(tree)
        for name in ops.names:
            for _ in range(2):
                out = ops.attempt(ins, ops.run(name, ins, rng))
                if out is not None:
                    succeeded.add(name)
                    assert check_machine(out.tree.to_text()).valid
                    assert space.allows(out.tree)
        donor = samples[task][-1]
        out = ops.attempt(ins, ops.graft(ins, donor, rng))
        if out is not None:
            succeeded.add("graft")
            assert check_machine(out.tree.to_text()).valid
    assert succeeded == {*ops.names, "graft"}


def test_steps_are_edit_language_a_refiner_could_write(spaces: dict[str, DesignSpace],
                                                        samples: dict[str, list[ConstructionTree]]) -> None:
    space = spaces["catapult:1"]
    ops = Operators(space)
    rng = np.random.default_rng(3)
    checked = 0
    for tree in samples["catapult:1"]:
        ins = space.inspect(tree)
        v = ops.propose(ins, rng)
        if v is None or ops.attempt(ins, v) is None:
            continue
        text = script_text(v.steps)
        assert parse_edits(text).edits == v.steps          # the lines read back as the same edits
        via_text = apply_edits(tree, text, reference_quirks=False).tree
        assert via_text.to_text() == apply_steps(tree, v.steps).to_text()
        checked += 1
    assert checked >= 10


def test_insert_puts_a_block_between_block_and_parent(spaces: dict[str, DesignSpace]) -> None:
    space = spaces["car:1"]
    wheel = parse_tree([CAR[0], {"id": "2", "order_id": 1, "parent": 0, "bp_id": 3}], reference_quirks=False)
    ops = Operators(space)
    rng = np.random.default_rng(0)
    hosts = set()
    for _ in range(10):
        out = ops.attempt(space.inspect(wheel), ops.insert(space.inspect(wheel), rng))
        if out is None:
            continue
        tree = out.tree  # root, the new block on the wheel's old point, the wheel on its far end
        assert len(tree) == 3 and tree.attachments(1) == ((0, 3),)
        assert tree.types[2] == "2" and tree.attachments(2) == ((1, 0),)
        hosts.add(tree.types[1])
    assert hosts and all(BLOCKS[t].attach_points for t in hosts)


def test_graft_copies_a_donor_subtree(spaces: dict[str, DesignSpace]) -> None:
    space = spaces["car:1"]
    donor = parse_tree(CAR, reference_quirks=False)
    base = bare_tree()
    ops = Operators(space)
    rng = np.random.default_rng(1)
    grown = 0
    for _ in range(30):
        out = ops.attempt(space.inspect(base), ops.graft(space.inspect(base), donor, rng))
        if out is not None:
            added = out.tree.types[1:]
            # a whole subtree: the log with its two wheels, or a single wheel
            assert sorted(added) in (["2"], ["2", "2", "63"])
            grown += 1
    assert grown > 0


def test_failed_steps_raise_typed_errors() -> None:
    car = parse_tree(CAR, reference_quirks=False)
    with pytest.raises(EditStepError):
        apply_steps(car, [remove_step(1)])                          # the log still holds two wheels
    with pytest.raises(EditStepError):
        apply_steps(car, [add_step("36", 1, 0)], allowed_blocks={"2", "63"})   # not allowed here
    with pytest.raises(EditStepError):
        apply_steps(car, [add_step("63", 1, 0)], max_blocks=len(CAR))          # over the block cap
    assert len(apply_steps(car, [remove_step(5), add_step("63", 1, 0)])) == len(CAR)


# --- evaluation and search ------------------------------------------------------------------------

def test_cache_simulates_each_design_once() -> None:
    spec = get_domain("machines").task("car:1")
    car = parse_tree(CAR, reference_quirks=False).to_text()
    with CachedEvaluator(spec) as ev:
        first = ev.evaluate([car, car, bare_tree().to_text()])
        again = ev.evaluate([car])
        assert ev.simulations == 2 and ev.hits == 2
    assert first[0] == first[1] == again[0] and first[0].reward > 30
    assert first[2].reward == 0.0 and first[2].status == "invalid"


SMALL = SearchConfig(budget=48, population=12, seed=6, workers=1)


@pytest.fixture(scope="module")
def small_run():
    return evolve("car:1", SMALL)


def test_search_is_deterministic_for_any_worker_count(small_run) -> None:
    two = evolve("car:1", SearchConfig(budget=48, population=12, seed=6, workers=2))
    assert two == small_run                     # designs, rewards, history; wall times are not compared
    assert [h.to_dict()["mean"] for h in two.history] == [h.mean for h in small_run.history]
    assert len(small_run.history) == 4


def test_search_improves_and_never_loses_its_best(small_run) -> None:
    hist = small_run.history
    assert small_run.evaluations == 48 and hist[-1].evaluations == 48
    bests = [h.best for h in hist]
    assert bests == sorted(bests)               # best-so-far is monotone
    assert bests[-1] > bests[0] + 3.0           # seed 6 improves 32.7 -> 38.1 m on generation 0
    assert small_run.best_reward == bests[-1] == small_run.top[0][1].reward
    assert all(h.population_best <= h.best for h in hist)


def test_search_from_a_design_keeps_it_unless_beaten() -> None:
    car = parse_tree(CAR, reference_quirks=False).to_text()
    res = evolve("car:1", SearchConfig(budget=16, population=8, seed=0), start=car)
    assert res.history[0].best >= 43.0 and res.best_reward >= res.history[0].best
    with pytest.raises(SearchSpaceError):
        evolve("car:1", SMALL, start="[]")


def test_metric_caps_rule_designs_out() -> None:
    res = evolve("car:1", SearchConfig(budget=24, population=12, seed=6, metric_caps={"max_speed": 1.0}))
    assert res.best_reward == 0.0 and all(h.best == 0.0 for h in res.history)
    with pytest.raises(ValueError):
        SearchConfig(population=1)


def test_outputs(small_run, tmp_path: Path) -> None:
    paths = write_search(small_run, tmp_path / "run", SMALL)
    root = tmp_path / "run"
    best = json.loads((root / "best.json").read_text())
    assert parse_tree(best).to_text() == small_run.best_text
    assert bsg_to_tree((root / "best.bsg").read_text()).to_text() == small_run.best_text
    rows = list(csv.DictReader((root / "history.csv").open()))
    assert len(rows) == len(small_run.history)
    assert float(rows[-1]["best"]) == pytest.approx(small_run.best_reward)
    assert len((root / "history.jsonl").read_text().splitlines()) == len(rows)
    summary = json.loads((root / "summary.json").read_text())
    assert summary["config"]["budget"] == 48 and summary["best_reward"] == small_run.best_reward
    assert (root / "top" / "rank01.json") in paths
    assert load_start((root / "best.bsg").read_text(), bsg=True) == small_run.best_text


# --- command --------------------------------------------------------------------------------------

def _app() -> typer.Typer:
    app = typer.Typer()
    app.command("search")(search_cmd)

    @app.command("noop")
    def _noop() -> None:  # a second command keeps typer from flattening the group
        """Nothing."""

    return app


def test_command_writes_the_run(tmp_path: Path) -> None:
    out = tmp_path / "cli"
    res = CliRunner().invoke(_app(), ["search", "--task", "car:1", "--budget", "16", "--population", "8",
                                      "--out", str(out), "--seed", "2"])
    assert res.exit_code == 0, res.output
    assert "best reward" in res.output and "evaluations" in res.output
    assert (out / "best.bsg").exists() and (out / "history.csv").exists()
    start = CliRunner().invoke(_app(), ["search", "--task", "car:1", "--budget", "6", "--population", "4",
                                        "--out", str(tmp_path / "again"), "--start", str(out / "best.json")])
    assert start.exit_code == 0, start.output
    capped = CliRunner().invoke(_app(), ["search", "--task", "car:1", "--budget", "4", "--population", "4",
                                         "--out", str(tmp_path / "capped"), "--cap", "max_speed=0.5"])
    assert capped.exit_code == 1 and "best reward 0.000" in capped.output  # nothing scored under the cap


@pytest.mark.parametrize("args", [["--task", "boat:1"], ["--start", "/nonexistent/tree.json"],
                                  ["--budget", "0"], ["--cap", "max_speed"], ["--cap", "=3"]])
def test_command_usage_errors(args: list[str], tmp_path: Path) -> None:
    res = CliRunner().invoke(_app(), ["search", "--out", str(tmp_path / "x"), *args])
    assert res.exit_code == 2 and "Traceback" not in res.output


# --- slow: the goals at a small scale -------------------------------------------------------------

@pytest.mark.slow
def test_catapult_scores_from_the_bare_block() -> None:
    res = evolve("catapult:1", SearchConfig(budget=400, seed=0, workers=2))
    assert res.best_reward > 0 and res.best_outcome.metrics["max_height"] >= 3.0


@pytest.mark.slow
def test_car_drives_far_from_the_bare_block() -> None:
    res = evolve("car:1", SearchConfig(budget=600, seed=0, workers=2, metric_caps={"max_speed": 21.0}))
    assert res.best_reward > 30.0
    assert all(BLOCKS[t] for t in parse_tree(res.best_text).types)
