"""Faults never crash a run: HTTP faults are absorbed by the client, malformed answers by the retry
budget and fallbacks, and a dying endpoint ends the run with a typed error and a full transcript."""

from __future__ import annotations

import json
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from brickfield.agents.workflows import WorkflowAborted, WorkflowConfig, read_events, run_workflow
from brickfield.core import Evaluator
from brickfield.llm import LLMConnectionError, LLMServerError, OpenAIChatModel, RetryPolicy
from tests.agents._workflow_fakes import ScriptedModel, responder, role_of, script
from tests.agents.test_workflows import EXPECTED_CALLS, stable
from tests.llm.fake_server import (
    FakeChatServer,
    empty_choices,
    not_json,
    rate_limited,
    server_error,
    stall,
    truncated,
)

PATIENT = RetryPolicy(max_attempts=8, backoff_base=0.005, backoff_max=0.02, jitter=0.0)
IMPATIENT = RetryPolicy(max_attempts=2, backoff_base=0.005, backoff_max=0.01, jitter=0.0)


def client(server: FakeChatServer, retry: RetryPolicy, timeout: float = 0.5) -> OpenAIChatModel:
    return OpenAIChatModel("fake-model", base_url=server.url, api_key="sk-test", retry=retry, timeout=timeout)


def test_http_faults_are_absorbed(tmp_path: Path) -> None:
    with FakeChatServer(responder) as srv:
        with client(srv, PATIENT) as model:
            clean = run_workflow("iterative", "catapult:1", model, out=tmp_path / "clean")
        srv.clear()
        # the designer's request (the first, alone) meets every fault before it is answered
        srv.push(rate_limited(retry_after="0.01"), server_error(500), server_error(503), not_json(),
                 empty_choices(), truncated(), stall(1.0))
        with client(srv, PATIENT, timeout=0.3) as model:
            faulty = run_workflow("iterative", "catapult:1", model, out=tmp_path / "faulty")
        assert len(srv.requests) == sum(EXPECTED_CALLS["mcts"].values()) + 7
    assert faulty.completed and faulty.role_calls == EXPECTED_CALLS["mcts"]
    assert stable(faulty) == stable(clean)
    events = read_events(tmp_path / "faulty" / "transcript.jsonl")
    assert not [e for e in events if e["event"] == "chat_error"]


class Flaky:
    """Answers from per-role queues of bad answers first, then the script."""

    def __init__(self, bad: dict[str, list[str]]) -> None:
        self.bad = {k: list(v) for k, v in bad.items()}
        self.lock = threading.Lock()

    def __call__(self, messages: list[dict[str, Any]], seed: int | None) -> str:
        with self.lock:
            queue = self.bad.get(role_of(messages))
            if queue:
                return queue.pop(0)
        return script(messages, seed)


def test_malformed_answers_are_retried_and_recorded(tmp_path: Path) -> None:
    bad = {"designer": ["", "I would build a catapult.", '```json\n[{"id": "0", "order_id": 0\n```'],
           "inspector": ["Looks fine to me."],
           "querier": ['```query\n[{"order_id": 999, "duration": [0, 1]}]\n```', "```query\nnot json\n```"],
           "refiner": ["```edits\nRemove [0]\n```", "```edits\nAdd [99] to [0] in [1]\n```", ""]}
    model = ScriptedModel(Flaky(bad))
    result = run_workflow("iterative", "catapult:1", model, out=tmp_path)
    assert result.completed and result.best_evaluation.status == "ok"
    assert {r: s.malformed for r, s in result.roles.items()} == {"designer": 3, "inspector": 1, "querier": 2,
                                                                 "refiner": 3}
    assert result.roles["designer"].calls == 4 and result.roles["querier"].calls == 2 + 2
    events = read_events(tmp_path / "transcript.jsonl")
    failed = Counter(e["kind"] for e in events if e["event"] == "parse" and not e["ok"])
    assert failed == {"tree": 3, "issues": 1, "query": 2, "edits": 3}
    errors = [e["errors"][0] for e in events
              if e["event"] == "parse" and e["kind"] == "edits" and not e["ok"]]
    assert any("Starting Block" in m for m in errors) and any("unknown block type" in m for m in errors)
    assert any("empty answer" in m for m in errors)


def test_refiner_retries_see_their_failed_edits_unless_history_is_off(tmp_path: Path) -> None:
    seen: list[str] = []

    def answer(messages: list[dict[str, Any]], seed: int | None) -> str:
        if role_of(messages) == "refiner":
            seen.append(messages[1]["content"])
            if len(seen) <= 4:  # the whole first round of the blind refinement fails
                return "```edits\nRemove [0]\n```"
        return script(messages, seed)

    run_workflow("iterative", "catapult:1", ScriptedModel(answer), iterations=0,
                 config=WorkflowConfig(concurrency=1))
    assert len(seen) == 8
    retry = [u for u in seen if "Your earlier attempts on this machine failed" in u]
    assert len(retry) == 4 and all("Remove [0]" in u and "[root_block]" in u for u in retry)
    seen.clear()
    from brickfield.agents.workflows import Ablations

    run_workflow("iterative", "catapult:1", ScriptedModel(answer), iterations=0,
                 config=WorkflowConfig(concurrency=1, ablations=Ablations(edit_history=False)))
    assert len(seen) == 8 and not any("earlier attempts" in u for u in seen)


@pytest.mark.parametrize("workflow,status,calls", [
    ("single", "unparseable", {"single_agent": 1}),
    ("iterative", "unparseable", {"designer": 6}),
    ("hierarchical", "unparseable", {"meta_designer": 6, "builder": 6 * 8}),
])
def test_a_model_that_only_writes_garbage_still_completes(tmp_path: Path, workflow: str, status: str,
                                                          calls: dict[str, int]) -> None:
    model = ScriptedModel(lambda messages, seed: "Sorry, I cannot help with { that ]")
    result = run_workflow(workflow, "catapult:1", model, out=tmp_path)
    assert result.completed and result.role_calls == calls
    assert result.best_evaluation.status in (status, "invalid") and result.best.reward == 0.0
    assert (tmp_path / "result.json").exists() and (tmp_path / "transcript.jsonl").exists()


def test_dying_endpoint_aborts_with_a_typed_error_and_keeps_the_transcript(tmp_path: Path) -> None:
    def dying(record: Any) -> Any:
        # designer and inspector are answered, then the server only fails
        return responder(record) if record.index < 2 else server_error(503)

    with FakeChatServer(dying) as srv, client(srv, IMPATIENT) as model, \
            pytest.raises(WorkflowAborted) as info:
        run_workflow("iterative", "catapult:1", model, out=tmp_path)
    err = info.value
    assert isinstance(err.cause, LLMServerError) and "503" in err.message
    assert not err.result.completed and err.result.error["type"] == "LLMServerError"
    assert err.result.role_calls == {"designer": 1, "inspector": 1, "refiner": 0}
    events = read_events(tmp_path / "transcript.jsonl")
    assert [e["role"] for e in events if e["event"] == "chat"] == ["designer", "inspector"]
    assert sum(e["event"] == "chat_error" for e in events) >= 3
    assert events[-1]["event"] == "run_end" and events[-1]["result"]["completed"] is False
    saved = json.loads((tmp_path / "result.json").read_text())
    assert saved["completed"] is False and saved["error"]["type"] == "LLMServerError"


def test_unreachable_endpoint_aborts_even_after_one_call(tmp_path: Path) -> None:
    with FakeChatServer() as srv:
        url = srv.url
    model = OpenAIChatModel("fake-model", base_url=url, api_key="sk-test", retry=IMPATIENT, timeout=0.5)
    with model, pytest.raises(WorkflowAborted) as info:
        run_workflow("single", "catapult:1", model, out=tmp_path)
    assert isinstance(info.value.cause, LLMConnectionError)
    stats = info.value.result.roles["single_agent"]
    assert stats.failures == 1 and stats.calls == 0 and not info.value.result.completed


def test_process_pool_evaluator_matches_serial(tmp_path: Path) -> None:
    serial = run_workflow("iterative", "catapult:1", ScriptedModel(), search="random", iterations=2)
    with Evaluator(2) as pool:
        pooled = run_workflow("iterative", "catapult:1", ScriptedModel(), search="random", iterations=2,
                              evaluator=pool)
    a, b = stable(pooled), stable(serial)
    # pool workers keep their episodes: each expanded node is simulated once more for its querier
    expansions = sum(r["expand"] for r in b["search"][0]["trace"])
    assert a.pop("simulations") == b.pop("simulations") + expansions
    assert a == b


def test_an_invalid_draft_is_refined_rather_than_dropped() -> None:
    from tests.agents._workflow_fakes import CATAPULT, tree_text

    overlapping = [*CATAPULT, {"id": "63", "order_id": 14, "parent": 0, "bp_id": 0}]  # on top of block 1

    def answer(messages: list[dict[str, Any]], seed: int | None) -> str:
        if role_of(messages) == "designer":
            return tree_text(overlapping)
        return script(messages, seed)

    result = run_workflow("iterative", "catapult:1", ScriptedModel(answer), search="random", iterations=2)
    assert result.completed
    assert result.roles["designer"].calls == 6 and result.roles["designer"].malformed == 6  # never valid
    assert result.roles["refiner"].malformed == 0  # edits on an invalid machine are kept
    nodes = result.search[0]["nodes"]
    assert nodes[0]["status"] == "invalid" and len(nodes) == 3
