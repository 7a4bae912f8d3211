"""Best-of-N with each scorer, local and endpoint."""

from __future__ import annotations

import pytest

from brickfield.gen.best import SEED_STRIDE, best_of_n, get_scorer, stability_score, validity_score
from brickfield.gen.errors import GenerationError
from brickfield.gen.stats import Generation, GenerationStats
from brickfield.lego.rewards import r_vox
from brickfield.lego.structure import Brick, Structure
from brickfield.llm import OpenAIChatModel, RetryPolicy
from tests.gen.conftest import get_model, get_tokenizer
from tests.llm.fake_server import FakeChatServer, ok

KW = {"max_bricks": 4, "max_regenerations": 1}


def _gen(*bricks: Brick) -> Generation:
    s = Structure(bricks)
    return Generation(s, s.to_text(), GenerationStats())


def test_stability_score_ranks_stable_above_unstable_and_empty_last():
    stable = _gen(Brick(2, 4, 0, 0, 0), Brick(2, 4, 0, 0, 1))
    half = _gen(Brick(2, 4, 0, 0, 0), Brick(1, 1, 9, 9, 9))
    empty = _gen()
    assert stability_score(stable) > 1.0 > stability_score(half) > stability_score(empty) == 0.0
    assert stability_score(half) == pytest.approx(0.5)
    assert validity_score(half) == pytest.approx(0.5) and validity_score(empty) == 0.0


@pytest.mark.parametrize("scorer", ["validity", "stability", "voxel", "custom"])
def test_local_best_of_n_picks_the_top_score(scorer):
    tok, model = get_tokenizer("bytelevel"), get_model("bytelevel")
    target = Structure([Brick(2, 4, 0, 0, 0)])
    chosen = (lambda g: float(len(g.structure))) if scorer == "custom" else scorer
    res = best_of_n(model, tok, "a box", n=3, scorer=chosen, target=target, seed=4, **KW)
    assert len(res.generations) == 3 and len(res.scores) == 3
    assert res.scores[res.best_index] == max(res.scores)
    assert res.best_index == res.scores.index(max(res.scores))  # earliest on ties
    if scorer == "voxel":
        assert res.scores == [pytest.approx(r_vox(g.structure, target)) for g in res.generations]
    assert [g.seed for g in res.generations] == [4 + i * SEED_STRIDE for i in range(3)]
    again = best_of_n(model, tok, "a box", n=3, scorer=chosen, target=target, seed=4, **KW)
    assert [g.text for g in again.generations] == [g.text for g in res.generations]


def test_endpoint_best_of_n_uses_distinct_seeds():
    replies = iter(["1x1 (0,0,0)\n", "2x4 (0,0,0)\n2x4 (0,0,1)\n"])
    with FakeChatServer() as server:
        server.responder = lambda req: ok(next(replies))
        chat = OpenAIChatModel("m", base_url=server.url, api_key="k", dialect="vllm",
                               retry=RetryPolicy(max_attempts=1))
        res = best_of_n(chat, None, "x", n=2, scorer=lambda g: float(len(g.structure)))
        chat.close()
        assert [b["seed"] for b in server.bodies] == [0, SEED_STRIDE]
    assert res.best_index == 1 and res.best.text == "2x4 (0,0,0)\n2x4 (0,0,1)\n"


def test_scorer_errors_are_typed():
    with pytest.raises(GenerationError, match="target"):
        get_scorer("voxel")
    with pytest.raises(GenerationError, match="scorer"):
        get_scorer("beauty")
    with pytest.raises(GenerationError):
        best_of_n(object(), None, "x", n=1)
    with pytest.raises(GenerationError):
        best_of_n(get_model("bytelevel"), get_tokenizer("bytelevel"), "x", n=0)
