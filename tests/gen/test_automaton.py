"""The token-level automaton over real (Llama-3, Qwen) and trained (Ġ, ▁, plain-space) vocabularies."""

from __future__ import annotations

import random

import pytest
import torch

from brickfield.gen.automaton import TokenAutomaton
from brickfield.gen.errors import GenerationError
from brickfield.gen.grammar import LINE_START
from brickfield.gen.vocab import token_texts
from brickfield.lego.library import ALLOWED_DIMENSIONS
from brickfield.lego.textformat import parse_text
from tests.gen.conftest import get_tokenizer

_AUTOMATA: dict[str, TokenAutomaton] = {}


def automaton(name: str) -> TokenAutomaton:
    if name not in _AUTOMATA:
        _AUTOMATA[name] = TokenAutomaton(get_tokenizer(name))
    return _AUTOMATA[name]


def _spell(auto: TokenAutomaton, text: str) -> list[int] | None:
    """Some token path spelling ``text`` from a line start (depth-first, longest tokens first)."""
    by_text = sorted(auto.token_text.items(), key=lambda kv: -len(kv[1]))

    def dfs(state: int, pos: int) -> list[int] | None:
        if pos == len(text):
            return [] if state == LINE_START else None
        for tok, t in by_text:
            if text.startswith(t, pos) and (nxt := auto.step(state, tok)) is not None:
                rest = dfs(nxt, pos + len(t))
                if rest is not None:
                    return [tok, *rest]
        return None

    return dfs(LINE_START, 0)


def _random_lines(rng: random.Random, n: int) -> str:
    return "".join(f"{rng.choice(ALLOWED_DIMENSIONS)} ({rng.randrange(20)},{rng.randrange(20)},"
                   f"{rng.randrange(20)})\n" for _ in range(n))


def test_every_valid_text_can_be_spelled_and_decodes_back(tok_name):
    auto, tok = automaton(tok_name), get_tokenizer(tok_name)
    rng = random.Random(0)
    for _ in range(10):
        text = _random_lines(rng, 3)
        path = _spell(auto, text)
        assert path is not None, text
        assert auto.accepts(path)
        anchor = tok.encode("a", add_special_tokens=False)
        assert tok.decode(anchor + path, clean_up_tokenization_spaces=False).endswith(text)


def test_random_walks_spell_parseable_lines(tok_name):
    auto, tok = automaton(tok_name), get_tokenizer(tok_name)
    rng = random.Random(1)
    anchor = tok.encode("a", add_special_tokens=False)
    for _ in range(30):
        state, path = LINE_START, []
        while True:
            tok_id = rng.choice(sorted(auto.next[state]))
            path.append(tok_id)
            state = auto.next[state][tok_id]
            if state == LINE_START:
                break
        text = tok.decode(anchor + path, clean_up_tokenization_spaces=False)[len(tok.decode(anchor)):]
        parsed = parse_text(text, strict=True)
        assert len(parsed.structure) == 1
        assert parsed.structure[0].dims in ALLOWED_DIMENSIONS


def test_canonical_tokenizations_are_accepted_where_they_keep_line_ends():
    line = "2x4 (12,3,19)\n1x1 (0,0,0)\n"
    for name in ("llama3", "qwen", "bytelevel"):
        ids = get_tokenizer(name).encode(line, add_special_tokens=False)
        assert automaton(name).accepts(ids), name
    # Trained without a pre-tokenizer, BPE glues `)\n1x1 (` into one token: refused (a line end must
    # be a token boundary), yet the text stays spellable (previous tests).
    ids = get_tokenizer("plain").encode(line, add_special_tokens=False)
    assert not automaton("plain").accepts(ids)


def test_llama3_keeps_numbers_whole_and_qwen_splits_digits():
    l3, qw = automaton("llama3"), automaton("qwen")
    assert "12" in l3.token_text.values() and " (" in l3.token_text.values()
    assert not any(len(t) > 1 and t.isdigit() for t in qw.token_text.values())
    assert {str(d) for d in range(10)} <= set(qw.token_text.values())


def test_every_reachable_state_allows_a_token_and_eos_only_at_line_start(tok_name):
    auto = automaton(tok_name)
    eos = set(auto.eos)
    for s in auto.reachable:
        assert auto.next[s], s
        if s != LINE_START:
            assert not eos & auto.row_tokens[auto.row(s, 5, 10)]
    assert not eos & auto.row_tokens[auto.row(LINE_START, 0, 10)]   # no brick yet: no EOS
    assert eos <= auto.row_tokens[auto.row(LINE_START, 1, 10)]      # after one brick: EOS allowed
    assert auto.row_tokens[auto.row(LINE_START, 10, 10)] == frozenset(eos)  # budget reached: EOS only


def test_bias_rows_are_padded_to_the_model_vocabulary():
    tok = get_tokenizer("bytelevel")
    auto = TokenAutomaton(tok, vocab_size=len(tok) + 50)
    bias = auto.bias()
    assert bias.shape == (auto.n_rows, len(tok) + 50)
    assert torch.isinf(bias[:, len(tok):]).all()
    for r, toks in enumerate(auto.row_tokens):
        assert set((bias[r] == 0).nonzero().flatten().tolist()) == set(toks)
    assert auto.bias() is bias  # cached


def test_states_with_equal_token_sets_share_a_row():
    auto = automaton("llama3")
    assert auto.n_rows < len(auto.reachable) // 2
    assert len(set(auto.row_tokens)) == auto.n_rows


def test_token_texts_isolate_space_conventions():
    texts = token_texts(get_tokenizer("metaspace"))
    assert any(t and t.startswith(" (") for t in texts)  # ▁( decodes with its space
    assert not any(t and "▁" in t for t in texts)


def test_a_vocabulary_without_digits_cannot_spell_the_grammar():
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {w: i for i, w in enumerate(["<eos>", "a", "b", "x", "(", ")", ","])}
    raw = Tokenizer(models.WordLevel(vocab, unk_token="<eos>"))
    raw.pre_tokenizer = pre_tokenizers.Whitespace()
    tok = PreTrainedTokenizerFast(tokenizer_object=raw, eos_token="<eos>")
    with pytest.raises(GenerationError) as err:
        TokenAutomaton(tok)
    assert err.value.code == "tokenizer_cannot_spell"


def test_a_narrower_model_vocabulary_drops_the_extra_ids_and_a_mismatch_is_refused():
    from brickfield.gen.assets import tiny_llama
    from brickfield.gen.generate import generate_structure

    tok = get_tokenizer("bytelevel")
    narrow = TokenAutomaton(tok, vocab_size=len(tok) - 100)
    assert max(narrow.token_text) < len(tok) - 100
    assert narrow.bias().shape[1] == len(tok) - 100
    model = tiny_llama(len(tok) + 8)
    with pytest.raises(GenerationError) as err:
        generate_structure(model, tok, "x", automaton=TokenAutomaton(tok))
    assert err.value.code == "vocab_mismatch"
