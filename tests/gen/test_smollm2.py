"""SmolLM2-135M-Instruct (bundled GGUF, ~15 s to load) generates valid structures for a caption.

The model has never seen the brick format (unconstrained, it answers in prose), so this checks that
the constraints alone make a real tokenizer (byte-level BPE, digits split, ``Ġ(``) and a real chat
template produce valid structures. About a minute on one core.
"""

from __future__ import annotations

import pytest

from brickfield.gen.generate import generate_structure
from brickfield.lego.checks import COLLISION, NOT_IN_LIBRARY, OUT_OF_BOUNDS, check_structure
from brickfield.lego.textformat import parse_text

pytestmark = pytest.mark.slow
CAPTION = "a small table with four legs"


@pytest.fixture(scope="module")
def smollm2():
    import torch

    from brickfield.llm.hf_backend import load_hf

    return load_hf("smollm2", device="cpu", dtype=torch.float32)


def _assert_valid(gen) -> None:
    structure = parse_text(gen.text, strict=True).structure
    assert len(structure) >= 1 and structure.bricks == gen.structure.bricks
    placement = {NOT_IN_LIBRARY, OUT_OF_BOUNDS, COLLISION}
    assert not any(placement & set(r) for r in check_structure(structure).reasons)
    assert gen.stable or gen.stats.unstable_reason


def test_smollm2_fast_mode_is_valid_and_deterministic(smollm2):
    model, tok = smollm2
    kw = {"mode": "fast", "seed": 0, "max_bricks": 10, "max_regenerations": 2, "reject_floating": True}
    gen = generate_structure(model, tok, CAPTION, **kw)
    _assert_valid(gen)
    assert gen.stats.rejections == {}
    assert generate_structure(model, tok, CAPTION, **kw).text == gen.text


def test_smollm2_parity_mode_is_valid(smollm2):
    model, tok = smollm2
    gen = generate_structure(model, tok, CAPTION, mode="parity", seed=0, max_bricks=6, max_regenerations=1,
                             max_brick_rejections=50)
    _assert_valid(gen)
