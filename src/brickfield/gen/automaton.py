"""Token-level automaton of the brick grammar, built from a tokenizer's own vocabulary.

Each candidate token (one whose text uses only the grammar's characters) is run through the
character automaton from every state, which gives ``next[state][token] -> state``. That works for
any segmentation: Llama-3 keeps ``12`` and ``)\\n`` as single tokens, Qwen and SmolLM2 split digits,
SentencePiece glues spaces onto ``▁(``; the model may take any path that spells a valid line.
Two rules keep decoding safe:

* a token may end a line only with its last character, so each line start is a token boundary
  (where the decoder saves logits and rolls back to);
* tokens into states from which no token path completes a line are dropped (a vocabulary that
  lacks some single characters cannot strand the decoder mid-line). If no line can be spelled at
  all, construction raises ``GenerationError("tokenizer_cannot_spell")``.

Per state, the allowed tokens become one additive bias row (0 allowed, -inf elsewhere), padded to
the model's ``config.vocab_size``; states with the same allowed set share a row (about 25 rows for
the 20^3 grammar), so masking a step is one tensor add. EOS is allowed only at a line start and
only after at least one brick (:attr:`ROW_START_NO_EOS`, :attr:`ROW_EOS_ONLY` are the two extra
rows the decoder uses for "no brick yet" and "brick budget reached").
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from brickfield.gen.errors import GenerationError
from brickfield.gen.grammar import LINE_START, BrickGrammar, CharState
from brickfield.gen.vocab import eos_ids as default_eos_ids
from brickfield.gen.vocab import special_ids, token_texts
from brickfield.lego.library import ALLOWED_DIMENSIONS, DEFAULT_WORLD_DIM


@dataclass(frozen=True, slots=True)
class TokenEffect:
    """What one token does from one state: the field values it completes (in order) and where it
    ends (the field and the characters typed of it)."""

    completed: tuple[tuple[str, str], ...]
    end: CharState

    @property
    def neutral(self) -> bool:
        """True when the token neither completes a value nor types part of one."""
        return not self.completed and (self.end.field is None or not self.end.prefix)


class TokenAutomaton:
    """Brick grammar over a tokenizer's vocabulary.

    Args:
        tokenizer: a Hugging Face tokenizer (fast or slow).
        world_dim: grid size (int = cube); coordinates are limited to ``0 .. size-1``.
        vocab_size: width of the bias rows (the model's ``config.vocab_size``); defaults to
            ``len(tokenizer)``. Wider pads with -inf; narrower drops the tokenizer's extra ids (the
            model cannot emit them).
        eos: token ids that end the answer; default :func:`brickfield.gen.vocab.eos_ids`.
        dims: allowed ``HxW`` strings (default: the 14 library sizes).
    """

    def __init__(self, tokenizer: Any, *, world_dim: int | Sequence[int] = DEFAULT_WORLD_DIM,
                 vocab_size: int | None = None, eos: Sequence[int] | None = None,
                 model: Any | None = None, dims: Sequence[str] = ALLOWED_DIMENSIONS) -> None:
        self.grammar = BrickGrammar(world_dim, dims)
        texts = token_texts(tokenizer)
        self.vocab_size = int(vocab_size) if vocab_size else len(texts)
        self.eos: tuple[int, ...] = tuple(eos) if eos else default_eos_ids(tokenizer, model)
        if any(not 0 <= e < self.vocab_size for e in self.eos):
            raise GenerationError("bad_eos", f"EOS ids {self.eos} outside a vocabulary of {self.vocab_size}")
        excluded = special_ids(tokenizer) | set(self.eos)
        alphabet = self.grammar.alphabet
        self.token_text: dict[int, str] = {
            i: t for i, t in enumerate(texts[:self.vocab_size])
            if t and i not in excluded and set(t) <= alphabet}
        self.next: list[dict[int, int]] = self._transitions()
        self._prune()
        self.effects: list[dict[int, TokenEffect]] = [
            {tok: self._effect(s, self.token_text[tok]) for tok in d} for s, d in enumerate(self.next)]
        self.neutral_state: list[bool] = [all(e.neutral for e in d.values()) for d in self.effects]
        self._rows()
        self._bias_cache: dict[tuple[str, torch.dtype], torch.Tensor] = {}

    # -- construction ---------------------------------------------------------------------------

    def _transitions(self) -> list[dict[int, int]]:
        by_first: dict[str, list[tuple[int, str]]] = defaultdict(list)
        for tok, text in self.token_text.items():
            by_first[text[0]].append((tok, text))
        out: list[dict[int, int]] = []
        for s in range(self.grammar.n_states):
            d: dict[int, int] = {}
            for ch in self.grammar.trans[s]:
                for tok, text in by_first.get(ch, ()):
                    end = self.grammar.run(s, text)
                    if end is not None:
                        d[tok] = end
            out.append(d)
        return out

    def _prune(self) -> None:
        """Drop transitions into states that cannot finish a line; keep only reachable states."""
        productive: set[int] = set()
        changed = True
        while changed:
            changed = False
            for s, d in enumerate(self.next):
                if s not in productive and any(e == LINE_START or e in productive for e in d.values()):
                    productive.add(s)
                    changed = True
        if LINE_START not in productive:
            raise GenerationError("tokenizer_cannot_spell",
                                  "no token sequence of this vocabulary spells a brick line")
        self.next = [{t: e for t, e in d.items() if e == LINE_START or e in productive}
                     if s in productive else {} for s, d in enumerate(self.next)]
        reachable, todo = {LINE_START}, [LINE_START]
        while todo:
            for e in self.next[todo.pop()].values():
                if e not in reachable:
                    reachable.add(e)
                    todo.append(e)
        self.reachable: frozenset[int] = frozenset(reachable)
        self.next = [d if s in reachable else {} for s, d in enumerate(self.next)]

    def _effect(self, state: int, text: str) -> TokenEffect:
        info, trans = self.grammar.info, self.grammar.trans
        completed: list[tuple[str, str]] = []
        for ch in text:
            nxt = trans[state][ch]
            cur = info[state]
            if cur.field is not None and info[nxt].prefix != cur.prefix + ch:
                completed.append((cur.field, cur.prefix))
            state = nxt
        return TokenEffect(tuple(completed), info[state] if state != LINE_START else CharState(None, ""))

    def _rows(self) -> None:
        rows: dict[frozenset[int], int] = {}
        self.row_of: list[int] = [-1] * self.grammar.n_states
        for s in sorted(self.reachable):
            allowed = frozenset(self.next[s]) | (frozenset(self.eos) if s == LINE_START else frozenset())
            self.row_of[s] = rows.setdefault(allowed, len(rows))
        self.ROW_START_NO_EOS = rows.setdefault(frozenset(self.next[LINE_START]), len(rows))
        self.ROW_EOS_ONLY = rows.setdefault(frozenset(self.eos), len(rows))
        self.row_tokens: list[frozenset[int]] = [frozenset()] * len(rows)
        for allowed, r in rows.items():
            self.row_tokens[r] = allowed

    # -- queries --------------------------------------------------------------------------------

    @property
    def n_rows(self) -> int:
        """Number of distinct bias rows."""
        return len(self.row_tokens)

    def bias(self, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """The (n_rows, vocab_size) additive mask: 0 where allowed, -inf elsewhere (cached)."""
        key = (str(device), dtype)
        if key not in self._bias_cache:
            b = torch.full((self.n_rows, self.vocab_size), float("-inf"), dtype=dtype)
            for r, toks in enumerate(self.row_tokens):
                if toks:
                    b[r, torch.tensor(sorted(toks), dtype=torch.long)] = 0.0
            self._bias_cache[key] = b.to(device)
        return self._bias_cache[key]

    def row(self, state: int, n_bricks: int, max_bricks: int, min_bricks: int = 1) -> int:
        """The bias row for ``state`` given how many bricks are placed and the brick budget (EOS is
        allowed from ``min_bricks`` bricks on, and is the only choice at ``max_bricks``)."""
        if state != LINE_START:
            return self.row_of[state]
        if n_bricks >= max_bricks:
            return self.ROW_EOS_ONLY
        return self.row_of[LINE_START] if n_bricks >= max(1, min_bricks) else self.ROW_START_NO_EOS

    def step(self, state: int, token: int) -> int | None:
        """The state after ``token`` (None if the grammar refuses it here)."""
        return self.next[state].get(token)

    def accepts(self, token_ids: Sequence[int]) -> bool:
        """True if ``token_ids`` spell one or more complete lines."""
        state, lines = LINE_START, 0
        for tok in token_ids:
            nxt = self.step(state, tok)
            if nxt is None:
                return False
            state = nxt
            lines += state == LINE_START
        return state == LINE_START and lines > 0
