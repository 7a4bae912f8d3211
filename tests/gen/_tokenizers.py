"""Byte-level, SentencePiece-style and plain-space BPE tokenizers trained in the test on brick text."""

from __future__ import annotations

import random
from typing import Any

from brickfield.lego.library import ALLOWED_DIMENSIONS

SPECIALS = ["<eos>", "<bos>"]
_PROSE = ("You build LEGO models out of plain rectangular bricks. Reply with bricks only, one per line. "
          "Build: a small table with four legs. Build: a tall tower. Build: a red car.")


def brick_corpus(n_docs: int = 300, seed: int = 0) -> list[str]:
    """Documents of 1-8 random brick lines (multi-line, so BPE can learn tokens across line ends)."""
    rng = random.Random(seed)
    docs = []
    for _ in range(n_docs):
        lines = [f"{rng.choice(ALLOWED_DIMENSIONS)} ({rng.randrange(20)},{rng.randrange(20)},"
                 f"{rng.randrange(20)})" for _ in range(rng.randint(1, 8))]
        docs.append("\n".join(lines) + "\n")
    return docs + [_PROSE] * 20


def train_bpe(kind: str, vocab_size: int = 400) -> Any:
    """A PreTrainedTokenizerFast. ``kind``: ``bytelevel`` (spaces as ``Ġ``), ``metaspace`` (``▁``) or
    ``plain`` (no pre-tokenizer: tokens hold literal spaces and newlines and may span lines)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    alphabet = sorted(set("".join(brick_corpus(50)) + _PROSE))
    if kind == "bytelevel":
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        alphabet = pre_tokenizers.ByteLevel.alphabet()
    elif kind == "metaspace":
        tok.pre_tokenizer = pre_tokenizers.Metaspace()
        tok.decoder = decoders.Metaspace()
    elif kind == "plain":
        tok.decoder = decoders.Fuse()
    else:
        raise ValueError(kind)
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIALS, initial_alphabet=alphabet,
                                  show_progress=False)
    tok.train_from_iterator(brick_corpus(), trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<eos>", bos_token="<bos>")
