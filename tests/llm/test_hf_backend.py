"""HFChatModel on a tiny random Llama with the real Llama-3 tokenizer (offline); one slow SmolLM2 test."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from brickfield.llm import (  # noqa: E402  (after the importorskip guards)
    ChatRequest,
    HFChatModel,
    LLMConfigError,
    LLMUnsupportedError,
    StructuredOutput,
    make_model,
)


@pytest.fixture(scope="module", autouse=True)
def _one_torch_thread() -> Any:
    """The tiny model's matmuls are far too small to share across threads; on a busy 2-core machine
    thread hand-offs made each call ~10x slower. Restored after this module."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def hf(tiny_hf) -> HFChatModel:
    model, tokenizer = tiny_hf
    return HFChatModel(model, tokenizer, name="hf:tiny")


def _sampled(**kwargs: Any) -> ChatRequest:
    fields = {"n": 1, "seed": 1, "max_tokens": 8, "temperature": 1.0} | kwargs
    return ChatRequest.from_prompt("Build a chair.", **fields)


def test_seeded_sampling_is_deterministic_and_leaves_global_rng_alone(hf):
    torch.manual_seed(1234)
    state = torch.get_rng_state()
    first = hf.complete(_sampled(n=3))
    assert torch.equal(state, torch.get_rng_state())
    again = hf.complete(_sampled(n=3))
    other_seed = hf.complete(_sampled(n=3, seed=2))
    assert first.texts == again.texts
    assert other_seed.texts != first.texts


def test_n_samples_usage_and_length_finish(hf):
    result = hf.complete(_sampled(n=3, max_tokens=6))
    assert len(result.completions) == 3 and len(set(result.texts)) > 1  # temperature 1: samples differ
    assert all(c.finish_reason == "length" and c.completion_tokens == 6 for c in result.completions)
    assert result.usage.completion_tokens == 18 and result.usage.prompt_tokens > 0
    assert result.model == "hf:tiny" and result.seconds > 0


def test_greedy_n_gives_identical_copies(hf):
    result = hf.complete(_sampled(n=2, temperature=0.0, seed=None))
    assert len(result.completions) == 2 and result.texts[0] == result.texts[1]
    assert hf.complete(_sampled(temperature=0.0, seed=None)).texts == result.texts[:1]


def test_stop_string_cuts_the_text_at_its_first_occurrence(hf):
    full = hf.complete(_sampled()).text
    stop = full[4:7]
    assert stop and stop in full
    cut = hf.complete(_sampled(stop=(stop,))).completions[0]
    assert cut.text == full[: full.find(stop)]
    assert cut.finish_reason == "stop" and stop not in cut.text


def _force_token(token_id: int) -> Any:
    def processor(input_ids: Any, scores: Any) -> Any:
        forced = torch.full_like(scores, float("-inf"))
        forced[:, token_id] = 0.0
        return forced

    return processor


def test_structured_request_needs_a_logits_processor_hook(hf, tiny_hf):
    request = _sampled(structured=StructuredOutput("regex", "( brick)+"))
    with pytest.raises(LLMUnsupportedError, match="logits_processor"):
        hf.complete(request)
    model, tokenizer = tiny_hf
    seen: list[ChatRequest] = []
    (brick,) = tokenizer.encode(" brick", add_special_tokens=False)

    def hook(req: ChatRequest, tok: Any) -> Any:
        seen.append(req)
        assert tok is tokenizer
        return _force_token(brick)

    constrained = HFChatModel(model, tokenizer, logits_processor=hook)
    result = constrained.complete(request)
    assert seen == [request] and result.text == " brick" * request.max_tokens


def test_continue_final_extends_the_assistant_prefix(tiny_hf):
    model, tokenizer = tiny_hf
    prompts: list[str] = []

    def record_prompt(req: ChatRequest, tok: Any) -> Any:
        def processor(input_ids: Any, scores: Any) -> Any:
            if not prompts:
                prompts.append(tok.decode(input_ids[0]))
            return scores

        return processor

    hf = HFChatModel(model, tokenizer, logits_processor=record_prompt)
    msgs = ({"role": "user", "content": "a chair"}, {"role": "assistant", "content": "2x4 (0,0,"})
    hf.complete(ChatRequest(messages=msgs, continue_final=True, max_tokens=2, seed=0))
    assert prompts[0].endswith("<|start_header_id|>assistant<|end_header_id|>\n\n2x4 (0,0,")


def test_async_matches_sync_and_cache_serves_repeats(tiny_hf, tmp_path):
    model, tokenizer = tiny_hf
    hf = HFChatModel(model, tokenizer, name="hf:tiny", cache=tmp_path)
    sync = hf.complete(_sampled())
    assert asyncio.run(hf.acomplete(_sampled())).texts == sync.texts
    assert hf.usage.calls == 1 and hf.usage.cache_hits == 1


def test_prompt_over_the_context_window_is_a_config_error(tiny_hf):
    model, tokenizer = tiny_hf
    hf = HFChatModel(model, tokenizer)
    with pytest.raises(LLMConfigError, match="positions"):
        hf.complete(_sampled(max_tokens=model.config.max_position_embeddings))


def test_missing_chat_template_and_tokenizer_are_config_errors(tiny_hf):
    model, tokenizer = tiny_hf
    template, tokenizer.chat_template = tokenizer.chat_template, None
    try:
        with pytest.raises(LLMConfigError, match="chat template"):
            HFChatModel(model, tokenizer).complete(_sampled())
    finally:
        tokenizer.chat_template = template
    with pytest.raises(LLMConfigError, match="tokenizer"):
        HFChatModel(model)


@pytest.mark.slow
def test_smollm2_answers_offline():
    model = make_model("hf:smollm2", device="cpu")
    result = model.complete(ChatRequest.from_prompt("What is 2+2? Answer briefly.", max_tokens=24,
                                                    temperature=0.0))
    assert model.name == "hf:smollm2"
    assert result.text.strip() and result.usage.completion_tokens > 0
