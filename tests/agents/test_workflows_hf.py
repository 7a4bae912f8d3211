"""The single-agent workflow on local Hugging Face models: a tiny random Llama built from a config
(no download; it writes garbage, and the run must still complete) and, marked slow, the bundled
SmolLM2-135M-Instruct."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from brickfield.agents.workflows import (  # noqa: E402  (after the importorskip guards)
    Sampling,
    WorkflowAborted,
    WorkflowConfig,
    read_events,
    replay_model,
    run_workflow,
)
from brickfield.llm import HFChatModel, LLMConfigError, make_model  # noqa: E402


@pytest.fixture
def one_torch_thread() -> Iterator[None]:
    """One torch thread: small matmuls are slower when split across threads on a small, busy machine
    (measured: SmolLM2's 256 tokens took longer with the default threads than 512 with one)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def tiny() -> tuple[Any, Any]:
    """A random 2-layer Llama over the real Llama-3 vocabulary, long enough for the task prompt."""
    from brickfield.llm.tiny import llama3_tokenizer, tiny_llama

    tokenizer = llama3_tokenizer()
    return tiny_llama(tokenizer, seed=0, max_positions=8192), tokenizer


def test_single_agent_on_a_tiny_random_llama(tiny: tuple[Any, Any], tmp_path: Path,
                                             one_torch_thread: None) -> None:
    model = HFChatModel(*tiny, name="hf:tiny-llama")
    config = WorkflowConfig(sampling=Sampling(max_tokens=24))
    result = run_workflow("single", "car:1", model, config=config, out=tmp_path / "live")
    assert result.completed and result.role_calls == {"single_agent": 1}
    ev = result.best_evaluation
    assert ev.status in ("unparseable", "invalid") and ev.reward == 0.0 and ev.issues
    assert result.tokens["completion"] > 0 and result.tokens["prompt"] > 1000  # the whole task prompt
    events = read_events(tmp_path / "live" / "transcript.jsonl")
    assert [e["event"] for e in events if e["event"] in ("chat", "evaluation")] == ["chat", "evaluation"]
    assert events[-1]["event"] == "run_end"
    # the same run, replayed from its transcript without the model
    again = run_workflow("single", "car:1", replay_model(tmp_path / "live" / "transcript.jsonl"),
                         config=config)
    assert again.best_evaluation.to_dict(timings=False) == ev.to_dict(timings=False)


def test_a_prompt_over_the_model_context_aborts_with_a_typed_error(tiny: tuple[Any, Any],
                                                                   one_torch_thread: None) -> None:
    from brickfield.llm.tiny import tiny_llama

    short = HFChatModel(tiny_llama(tiny[1], max_positions=256), tiny[1], name="hf:short")
    with pytest.raises(WorkflowAborted) as info:
        run_workflow("single", "car:1", short, config=WorkflowConfig(sampling=Sampling(max_tokens=8)))
    assert isinstance(info.value.cause, LLMConfigError) and "positions" in str(info.value.cause)


@pytest.mark.slow
def test_single_agent_on_smollm2(tmp_path: Path, one_torch_thread: None) -> None:
    model = make_model("hf:smollm2")
    config = WorkflowConfig(sampling=Sampling(max_tokens=256))
    result = run_workflow("single", "car:1", model, config=config, out=tmp_path)
    assert result.completed and result.role_calls == {"single_agent": 1}
    assert result.best_evaluation.status in ("ok", "invalid", "unparseable", "refused")
    assert result.tokens["completion"] > 0
    chat = [e for e in read_events(tmp_path / "transcript.jsonl") if e["event"] == "chat"]
    assert len(chat) == 1 and chat[0]["result"]["completions"][0]["text"].strip()
