"""The workflows end to end over real HTTP: the scripted fake OpenAI server answers per role.

Each run is checked for its result, the calls per role in its transcript, its output files, and
that a replay from the transcript gives the identical result with no HTTP call.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from brickfield.agents.workflows import (
    WorkflowConfig,
    WorkflowResult,
    read_events,
    replay_model,
    run_workflow,
)
from brickfield.llm import OpenAIChatModel, RetryPolicy
from tests.agents._workflow_fakes import responder, roles_of
from tests.llm.fake_server import FakeChatServer

FAST_RETRY = RetryPolicy(max_attempts=4, backoff_base=0.005, backoff_max=0.02, jitter=0.0)

EXPECTED_CALLS = {
    "single": {"single_agent": 1},
    # designer, inspector, 4 blind refiner candidates; MCTS expands the root and one child: 2 x (querier + 4)
    "mcts": {"designer": 1, "inspector": 1, "refiner": 4 + 2 * 4, "querier": 2},
    # best-of-N expands once per round: 5 x (querier + 4 refiners)
    "best-of-n": {"designer": 1, "inspector": 1, "refiner": 4 + 5 * 4, "querier": 5},
    # random search: a chain of 5 single refinements
    "random": {"designer": 1, "inspector": 1, "refiner": 4 + 5 * 1, "querier": 5},
    # meta-designer, then 8 builders for each of the blueprint's 3 functional blocks
    "hierarchical": {"meta_designer": 1, "builder": 3 * 8},
}


@pytest.fixture
def server() -> Iterator[FakeChatServer]:
    """The fake OpenAI server answering with the per-role script."""
    with FakeChatServer(responder) as srv:
        yield srv


@pytest.fixture
def client(server: FakeChatServer) -> Iterator[OpenAIChatModel]:
    """An OpenAI-compatible client on the fake server."""
    model = OpenAIChatModel("fake-model", base_url=server.url, api_key="sk-test", retry=FAST_RETRY,
                            timeout=2.0)
    yield model
    model.close()


def stable(result: WorkflowResult) -> dict[str, Any]:
    """The result without wall-clock values and paths."""
    d = json.loads(json.dumps(result.to_dict()))
    d.pop("wall_s"), d.pop("transcript")
    for rec in [d["best"], *d["finals"]]:
        if rec:
            rec["evaluation"].pop("timings", None)
    for role in d["roles"].values():
        role.pop("seconds")
    return d


def chat_roles(out: Path) -> Counter[str]:
    return Counter(e["role"] for e in read_events(out / "transcript.jsonl") if e["event"] == "chat")


def run(workflow: str, model: Any, out: Path, **kwargs: Any) -> WorkflowResult:
    return run_workflow(workflow, "catapult:1", model, out=out, **kwargs)


def check_outputs(result: WorkflowResult, out: Path) -> None:
    events = read_events(out / "transcript.jsonl")
    assert events[0]["event"] == "run_start" and events[-1]["event"] == "run_end"
    assert events[0]["task"]["id"] == "machines/catapult:1"
    assert events[-1]["result"]["best"]["evaluation"]["reward"] == pytest.approx(result.best.reward)
    evals = [e for e in events if e["event"] == "evaluation"]
    assert evals and all({"status", "reward", "components"} <= e["evaluation"].keys() for e in evals)
    chats = [e for e in events if e["event"] == "chat"]
    assert all(e["request"]["messages"][0]["role"] == "system" and e["result"]["completions"] for e in chats)
    assert all(e["result"]["usage"]["completion_tokens"] > 0 for e in chats)
    saved = json.loads((out / "result.json").read_text())
    assert saved["best"]["design_text"] == result.best_text
    assert (out / "best.json").read_text().strip() == result.best_text
    assert (out / "best.bsg").read_text().startswith("<?xml")
    assert len(list((out / "finals").glob("*.json"))) == len(result.finals)


def test_single_agent_over_http(server: FakeChatServer, client: OpenAIChatModel, tmp_path: Path) -> None:
    result = run("single", client, tmp_path)
    assert result.completed and result.workflow == "single" and result.model == "fake-model"
    assert result.best_evaluation.status == "ok" and result.best.reward > 5
    assert result.role_calls == EXPECTED_CALLS["single"] == roles_of(server.bodies)
    assert chat_roles(tmp_path) == EXPECTED_CALLS["single"]
    assert result.simulations == 1 and result.tokens["total"] > 0
    check_outputs(result, tmp_path)


@pytest.mark.parametrize("search", ["mcts", "best-of-n", "random"])
def test_iterative_editing_over_http(server: FakeChatServer, client: OpenAIChatModel, tmp_path: Path,
                                     search: str) -> None:
    result = run("iterative", client, tmp_path, search=search)
    assert result.completed and len(result.finals) == 1
    assert result.role_calls == EXPECTED_CALLS[search] == roles_of(server.bodies)
    assert chat_roles(tmp_path) == EXPECTED_CALLS[search]
    [tree] = result.search
    assert tree["strategy"]["name"] == search and len(tree["trace"]) == 5
    nodes = tree["nodes"]
    best = nodes[tree["best"]]
    assert best["score"] == pytest.approx(result.best.reward)
    pool = [n for n in nodes if n["visits"] > 0] if search == "mcts" else nodes
    assert best["score"] == max(n["score"] for n in pool)  # the best (visited) node is returned
    # every machine a refiner produced is the parent minus one leaf block
    texts = {n["path"]: n for n in nodes}
    assert len(texts) == len(nodes)
    queries = [e for e in read_events(tmp_path / "transcript.jsonl") if e["event"] == "query"]
    assert len(queries) == EXPECTED_CALLS[search]["querier"]
    assert all("[Required feedback]" in q["answer"] for q in queries)
    check_outputs(result, tmp_path)


def test_hierarchical_design_over_http(server: FakeChatServer, client: OpenAIChatModel,
                                       tmp_path: Path) -> None:
    result = run("hierarchical", client, tmp_path)
    assert result.role_calls == EXPECTED_CALLS["hierarchical"] == roles_of(server.bodies)
    assert chat_roles(tmp_path) == EXPECTED_CALLS["hierarchical"]
    stages = [e for e in read_events(tmp_path / "transcript.jsonl") if e["event"] == "step"
              and e["name"] == "stage"]
    assert [(s["part"], s["valid"]) for s in stages] == [("base", 8), ("arm", 8), ("payload", 8)]
    # the 8 builders of the last stage wrote the same complete machine: one final, the catapult
    assert len(result.finals) == 1 and result.best_evaluation.status == "ok"
    assert result.best_text.count("order_id") == 14
    # stage 2 builders were shown the stage-1 machine (9 blocks) with its 3D information
    bodies = [b for b in server.bodies if "Part to build now: arm" in b["messages"][1]["content"]]
    assert len(bodies) == 8 and all('"order_id": 8' in b["messages"][1]["content"] for b in bodies)
    assert all("Frame: x right" in b["messages"][1]["content"] for b in bodies)
    check_outputs(result, tmp_path)


def test_builders_are_called_concurrently(server: FakeChatServer, client: OpenAIChatModel,
                                          tmp_path: Path) -> None:
    import threading

    # the first stage's 8 builders must all be in flight at once: each waits for the other 7 before
    # it is answered (a sequential caller would break the barrier and get errors)
    barrier = threading.Barrier(8, timeout=10)
    broken = []

    def gated(record: Any) -> Any:
        if "Part to build now: base" in json.dumps(record.body):
            try:
                barrier.wait()
            except threading.BrokenBarrierError:
                broken.append(record.index)
        return responder(record)

    server.responder = gated
    result = run("hierarchical", client, tmp_path, config=WorkflowConfig(concurrency=8))
    assert not broken and result.role_calls["builder"] == 24


@pytest.mark.parametrize("workflow", ["single", "iterative", "hierarchical"])
def test_replay_gives_the_identical_result_without_http(server: FakeChatServer, client: OpenAIChatModel,
                                                        tmp_path: Path, workflow: str) -> None:
    first = run(workflow, client, tmp_path / "live", search="mcts")
    requests = len(server.requests)
    replay = replay_model(tmp_path / "live" / "transcript.jsonl")
    again = run(workflow, replay, tmp_path / "replay", search="mcts")
    assert len(server.requests) == requests  # zero HTTP calls
    assert stable(again) == stable(first)
    assert (tmp_path / "replay" / "best.json").read_text() == (tmp_path / "live" / "best.json").read_text()


def test_request_seeds_follow_the_call_path(server: FakeChatServer, client: OpenAIChatModel,
                                            tmp_path: Path) -> None:
    run("hierarchical", client, tmp_path / "a", config=WorkflowConfig(seed=1))
    seeds_a = sorted(b["seed"] for b in server.bodies)
    server.clear()
    run("hierarchical", client, tmp_path / "b", config=WorkflowConfig(seed=1))
    assert sorted(b["seed"] for b in server.bodies) == seeds_a
    assert len(set(seeds_a)) == len(seeds_a)  # every call its own seed
    server.clear()
    run("hierarchical", client, tmp_path / "c", config=WorkflowConfig(seed=2))
    assert sorted(b["seed"] for b in server.bodies) != seeds_a


def test_n_sets_samples_and_drafts() -> None:
    from tests.agents._workflow_fakes import ScriptedModel

    model = ScriptedModel()
    single = run_workflow("single", "catapult:1", model, n=3)
    assert len(single.finals) == 3 and single.role_calls == {"single_agent": 3}
    model = ScriptedModel()
    iterative = run_workflow("iterative", "catapult:1", model, n=2, search="random", iterations=1)
    assert len(iterative.finals) == 2 and len(iterative.search) == 2
    assert iterative.role_calls == {"designer": 2, "inspector": 2, "refiner": 2 * (4 + 1), "querier": 2}
    assert [f.reward for f in iterative.finals] == sorted((f.reward for f in iterative.finals), reverse=True)


def test_run_workflow_inside_a_running_event_loop() -> None:
    import asyncio

    from tests.agents._workflow_fakes import ScriptedModel

    async def main() -> WorkflowResult:
        return run_workflow("single", "catapult:1", ScriptedModel())

    assert asyncio.run(main()).best_evaluation.status == "ok"
