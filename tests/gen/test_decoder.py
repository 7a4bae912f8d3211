"""Per-brick rejection (parity), semantic masks (fast), KV-crop rollback and physics regeneration,
driven by a scripted LM so every branch is exercised on purpose."""

from __future__ import annotations

import copy

import pytest
import torch

import brickfield.gen.decoder as decoder_mod
from brickfield.gen.assets import tiny_llama
from brickfield.gen.errors import GenerationError
from brickfield.gen.generate import generate_structure
from brickfield.gen.session import ModelSession
from brickfield.gen.stats import GenerationStats
from brickfield.lego.textformat import parse_text
from tests.gen._scripted import ScriptedLM
from tests.gen.conftest import get_tokenizer

LINE = "2x4 (0,0,0)\n"


@pytest.fixture
def tok():
    return get_tokenizer("bytelevel")


def test_parity_rejects_then_counts_already_rejected_with_rising_temperature(tok, monkeypatch):
    lm = ScriptedLM(tok, lambda done, _: LINE * 5)
    temps: list[float] = []
    real = decoder_mod.sample_token

    def spy(scores, temperature, generator, top_k=None):
        temps.append(temperature)
        return real(scores, temperature, generator, top_k)

    crops: list[int] = []
    cache_cls = type(__import__("brickfield.gen.session", fromlist=["new_cache"]).new_cache(lm))
    real_crop = cache_cls.crop
    monkeypatch.setattr(cache_cls, "crop", lambda self, n: (crops.append(n), real_crop(self, n))[1])
    monkeypatch.setattr(decoder_mod, "sample_token", spy)
    monkeypatch.setattr(copy, "deepcopy", lambda *a, **k: pytest.fail("the cache must not be copied"))

    gen = generate_structure(lm, tok, "x", mode="parity", max_brick_rejections=20, rollback=False, seed=0)
    assert gen.text == LINE
    assert gen.stats.stop_reason == "max_rejections"
    assert gen.stats.rejections == {"collision": 1, "already_rejected": 19}
    assert crops and all(n < 0 for n in crops)  # crop(-n): transformers 5 semantics
    # Brick 1, brick 2 and the retry after the collision sample at 0.6; each already_rejected adds
    # 0.01, and the 19th stops generation before another sample.
    assert sorted(set(temps)) == pytest.approx([0.6 + 0.01 * k for k in range(19)])


def _again(done: str, _rewinds: int) -> str:
    """Whatever was written, the next line should be LINE again."""
    return done[:done.rfind("\n") + 1] + LINE


def test_fast_mode_masks_the_collision_instead_of_rejecting(tok):
    lm = ScriptedLM(tok, _again)
    gen = generate_structure(lm, tok, "x", mode="fast", max_bricks=3, rollback=False, seed=0)
    assert gen.stats.rejections == {}
    lines = gen.text.splitlines()
    assert lines[0] == LINE.strip() and len(lines) == 3
    assert len(set(lines)) == 3  # the repeats were steered to free cells
    assert all(line.startswith("2x4 (0,0,") for line in lines)


def test_physics_rollback_truncates_and_continues_from_the_prefix(tok):
    floating = "1x1 (10,10,5)\n"
    on_top = "2x4 (0,0,1)\n"
    lm = ScriptedLM(tok, lambda done, rewinds: LINE + (floating if rewinds == 0 else on_top))
    gen = generate_structure(lm, tok, "x", mode="fast", seed=0, max_regenerations=5)
    assert gen.text == LINE + on_top
    assert gen.stats.regenerations == 1
    assert gen.stats.attempts_stable == [False, True]
    assert gen.stats.bricks_removed == 1
    assert gen.stable is True and gen.stats.unstable_reason is None


def test_exhausted_regenerations_say_why_and_can_return_the_stable_prefix(tok):
    lm = ScriptedLM(tok, lambda done, _: LINE + "1x1 (10,10,5)\n")
    gen = generate_structure(lm, tok, "x", mode="fast", seed=0, max_regenerations=2)
    assert gen.stable is False
    assert gen.stats.attempts_stable == [False, False, False]
    assert "max_regenerations (2)" in gen.stats.unstable_reason and "floating" in gen.stats.unstable_reason
    lm2 = ScriptedLM(tok, lambda done, _: LINE + "1x1 (10,10,5)\n")
    gen2 = generate_structure(lm2, tok, "x", mode="fast", seed=0, max_regenerations=2,
                              on_unstable="stable_prefix")
    assert gen2.text == LINE and gen2.stable is True
    assert "stable prefix of 1" in gen2.stats.unstable_reason


def test_reject_floating_masks_unsupported_bricks_in_fast_mode(tok):
    lm = ScriptedLM(tok, lambda done, _: LINE + "1x1 (10,10,5)\n")
    gen = generate_structure(lm, tok, "x", mode="fast", seed=0, max_bricks=2, reject_floating=True)
    assert gen.stable is True and gen.stats.regenerations == 0
    assert parse_text(gen.text, strict=True).structure[1].z <= 1


def test_reject_floating_rejects_in_parity_mode(tok):
    lm = ScriptedLM(tok, lambda done, _: LINE + "1x1 (10,10,5)\n")
    gen = generate_structure(lm, tok, "x", mode="parity", seed=0, max_brick_rejections=3,
                             reject_floating=True)
    assert gen.stats.rejections.get("floating") == 1
    assert gen.text == LINE


def test_rewind_matches_a_fresh_prefill():
    tok = get_tokenizer("bytelevel")
    model = tiny_llama(len(tok), seed=3)
    ids = tok.encode("1x1 (0,0,0)\n2x2 (3,4,5)\n", add_special_tokens=False)
    s = ModelSession(model, ids, GenerationStats())
    s.rewind(5)
    fresh = ModelSession(model, ids[:5], GenerationStats())
    assert len(s) == 5 and s.cache.get_seq_length() == 5
    assert torch.allclose(s.logits, fresh.logits, atol=1e-5)


@pytest.mark.parametrize("kwargs, code", [
    ({"mode": "greedy"}, "bad_mode"),
    ({"temperature": -1.0}, "bad_temperature"),
    ({"max_bricks": 0}, "bad_limit"),
    ({"max_regenerations": -1}, "bad_limit"),
    ({"on_unstable": "shrug"}, "bad_option"),
    ({"prompt_style": "poetry"}, "bad_prompt_style"),
])
def test_bad_arguments_are_typed_errors(tok, kwargs, code):
    lm = ScriptedLM(tok, lambda done, _: LINE)
    with pytest.raises(GenerationError) as err:
        generate_structure(lm, tok, "x", **kwargs)
    assert err.value.code == code


def test_min_bricks_masks_eos_until_reached(tok):
    lm = ScriptedLM(tok, lambda done, _: LINE)  # wants to stop after one brick
    gen = generate_structure(lm, tok, "x", mode="fast", seed=0, min_bricks=3, rollback=False)
    assert len(gen.structure) == 3 and gen.stats.stop_reason == "eos"
    with pytest.raises(GenerationError):
        generate_structure(lm, tok, "x", min_bricks=5, max_bricks=4)


def test_token_budget_stops_generation_and_the_rollback_loop(tok):
    lm = ScriptedLM(tok, lambda done, _: LINE + "1x1 (10,10,5)\n" + LINE)
    gen = generate_structure(lm, tok, "x", mode="parity", seed=0, max_tokens=25, min_bricks=3)
    assert gen.stats.stop_reason == "max_tokens" and gen.stats.tokens == 25
    assert gen.stats.regenerations == 0 and "max_tokens" in gen.stats.unstable_reason
