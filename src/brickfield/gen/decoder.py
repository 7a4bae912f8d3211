"""Brick-by-brick constrained decoding with per-brick rejection and KV-cache rollback.

Each brick line is sampled token by token under the grammar mask (one bias add per step). When a
line is complete it is checked with :meth:`BuildState.can_add`:

* accepted: its last token is fed and the next line starts;
* rejected (``parity`` mode): the cache is cropped back to the line start (``cache.crop(-n)``, no
  copy) and the line is resampled from the logits saved at the line start. BrickGPT's bookkeeping is
  kept: a line already rejected at this brick counts as ``already_rejected`` and raises the
  temperature by ``temperature_step`` (capped at ``max_temperature``); after
  ``max_brick_rejections`` refusals for one brick, generation stops.

``fast`` mode also masks, before sampling them, field values that cannot lead to a placeable brick
(out of the grid, colliding, or floating with ``reject_floating``; see
:mod:`brickfield.gen.placement`), so it never rejects. It samples from a *locally renormalised*
distribution: each token is drawn from the model's distribution restricted to the still-feasible
tokens, so a brick's probability is the product of those renormalised steps, not the model's line
probability conditioned on the whole line being valid (which is what ``parity``'s whole-line
rejection samples from). The two differ whenever feasibility of an early field depends on later
ones; ``parity`` exists to reproduce BrickGPT's distribution.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

import torch

from brickfield.gen.automaton import TokenAutomaton
from brickfield.gen.errors import GenerationError
from brickfield.gen.grammar import LINE_START
from brickfield.gen.placement import PlacementOracle
from brickfield.gen.session import ModelSession
from brickfield.gen.stats import GenerationStats
from brickfield.lego.checks import BuildState
from brickfield.lego.structure import Brick, Structure

Mode = Literal["fast", "parity"]
ALREADY_REJECTED = "already_rejected"
MODES: tuple[str, ...] = ("fast", "parity")


@dataclass(frozen=True)
class DecodeConfig:
    """Sampling settings (defaults = BrickGPT's inference settings, research/lego_anchors.md §1.4).

    Attributes:
        mode: ``"fast"`` (semantic masks, no rejections) or ``"parity"`` (BrickGPT's rejection).
        temperature: sampling temperature (0 = greedy; rejection then relies on the temperature
            rising with each ``already_rejected``).
        temperature_step: added per ``already_rejected`` within one brick.
        max_temperature: cap of that increase.
        max_brick_rejections: refusals allowed per brick before generation stops.
        max_bricks: brick budget; generation stops when it is reached.
        min_bricks: EOS is masked until this many bricks are placed (1 = BrickGPT).
        reject_floating: also refuse (parity) or mask (fast) bricks with nothing directly below or
            above them (BrickGPT does not; off by default).
        top_k: keep only the k most likely allowed tokens (None = all, as BrickGPT with masking).
        max_tokens: budget of sampled tokens over the whole generation (None = unbounded; the
            rejection and regeneration limits bound the work anyway).
    """

    mode: Mode = "fast"
    temperature: float = 0.6
    temperature_step: float = 0.01
    max_temperature: float = 2.0
    max_brick_rejections: int = 500
    max_bricks: int = 2000
    min_bricks: int = 1
    reject_floating: bool = False
    top_k: int | None = None
    max_tokens: int | None = None

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise GenerationError("bad_mode", f"mode must be one of {MODES}, got {self.mode!r}")
        if not 0 <= self.temperature <= self.max_temperature:
            raise GenerationError("bad_temperature", f"temperature must be in [0, {self.max_temperature}], "
                                                     f"got {self.temperature}")
        if self.max_bricks < 1 or self.max_brick_rejections < 1:
            raise GenerationError("bad_limit", "max_bricks and max_brick_rejections must be >= 1")
        if not 1 <= self.min_bricks <= self.max_bricks:
            raise GenerationError("bad_limit", "min_bricks must be in [1, max_bricks]")
        if self.top_k is not None and self.top_k < 1:
            raise GenerationError("bad_limit", "top_k must be >= 1")
        if self.max_tokens is not None and self.max_tokens < 1:
            raise GenerationError("bad_limit", "max_tokens must be >= 1")


def sample_token(scores: torch.Tensor, temperature: float, generator: torch.Generator,
                 top_k: int | None = None) -> int:
    """Draw one token id from masked ``scores`` (-inf = forbidden).

    Inverse-CDF sampling (one uniform draw, a cumulative sum and a binary search): on CPU
    ``torch.multinomial`` over a 128k vocabulary costs ~5 ms, far more than a small model's step.
    """
    if temperature <= 0:
        return int(scores.argmax())
    if top_k is not None and top_k < scores.numel():
        kth = torch.topk(scores, top_k).values[-1]
        scores = scores.masked_fill(scores < kth, float("-inf"))
    cdf = torch.softmax(scores / temperature, dim=-1).cumsum_(0)
    u = torch.rand(1, generator=generator, device=cdf.device) * cdf[-1]
    return min(int(torch.searchsorted(cdf, u, right=True)), scores.numel() - 1)


class BrickDecoder:
    """Decodes bricks into a live :class:`ModelSession` and keeps the placed bricks' line starts."""

    def __init__(self, session: ModelSession, automaton: TokenAutomaton, config: DecodeConfig,
                 stats: GenerationStats, generator: torch.Generator) -> None:
        self.session = session
        self.auto = automaton
        self.cfg = config
        self.stats = stats
        self.generator = generator
        self.build = BuildState(automaton.grammar.world_dim)
        self.line_starts: list[int] = []  # session length at the start of each placed brick's line
        self.oracle = (PlacementOracle(self.build, automaton.grammar.dims,
                                       require_support=config.reject_floating)
                       if config.mode == "fast" else None)
        self.bias = automaton.bias(session.device)
        if session.logits.shape[-1] != automaton.vocab_size:
            raise GenerationError("vocab_mismatch", f"the model scores {session.logits.shape[-1]} tokens, "
                                                    f"the automaton was built for {automaton.vocab_size}")

    @property
    def structure(self) -> Structure:
        """The bricks placed so far."""
        return self.build.structure()

    def run(self) -> str:
        """Decode bricks until EOS or a limit; returns the stop reason."""
        while True:
            if len(self.build) >= self.cfg.max_bricks:
                return "max_bricks"
            if self.oracle is not None and not self.oracle.any_brick():
                return "no_space"
            outcome = self._next_brick()
            if outcome is not None:
                return outcome

    def truncate(self, keep: int) -> None:
        """Keep the first ``keep`` bricks and put the model back at the start of brick ``keep``'s
        line (one forward pass)."""
        if keep >= len(self.line_starts):
            return
        self.session.rewind(self.line_starts[keep])
        del self.line_starts[keep:]
        bricks = self.build.bricks[:keep]
        self.build.occupied[:] = False
        self.build.bricks = []
        for b in bricks:
            self.build.add(b)
        if self.oracle is not None:
            self.oracle.refresh()

    # -- one brick --------------------------------------------------------------------------------

    def _next_brick(self) -> str | None:
        session, cfg = self.session, self.cfg
        start, line_logits = len(session), session.logits
        rejected: set[Brick] = set()
        temperature, n_rejected = cfg.temperature, 0
        while True:
            line = self._sample_line(line_logits, temperature)
            if isinstance(line, str):
                return line
            brick, last = line
            t0 = time.perf_counter()
            reason = (ALREADY_REJECTED if brick in rejected
                      else self.build.can_add(brick, check_floating=cfg.reject_floating))
            if reason is None:
                self.build.add(brick)
                if self.oracle is not None:
                    self.oracle.refresh()
            self.stats.check_seconds += time.perf_counter() - t0
            if reason is None:
                self.line_starts.append(start)
                session.feed(last)
                return None
            self.stats.reject(reason)
            n_rejected += 1
            if reason == ALREADY_REJECTED:
                temperature = min(temperature + cfg.temperature_step, cfg.max_temperature)
            rejected.add(brick)
            session.crop(start)
            session.logits = line_logits  # the cache is back at the line start, so are these
            if n_rejected >= cfg.max_brick_rejections:
                return "max_rejections"

    def _sample_line(self, logits: torch.Tensor, temperature: float) -> tuple[Brick, int] | str:
        """Sample one line from ``logits`` (the line start). Every token but the last is fed; returns
        the brick and its last token, or a stop reason (``eos``, ``max_tokens``)."""
        auto, stats, cfg = self.auto, self.stats, self.cfg
        state, known = LINE_START, ()
        n_bricks = len(self.build)
        while True:
            if cfg.max_tokens is not None and stats.tokens >= cfg.max_tokens:
                return "max_tokens"
            t0 = time.perf_counter()
            scores = logits + self.bias[auto.row(state, n_bricks, cfg.max_bricks, cfg.min_bricks)]
            if self.oracle is not None and not auto.neutral_state[state]:
                self._mask_infeasible(scores, state, known)
            t1 = time.perf_counter()
            tok = sample_token(scores, temperature, self.generator, cfg.top_k)
            stats.mask_seconds += t1 - t0
            stats.sample_seconds += time.perf_counter() - t1
            stats.tokens += 1
            nxt = auto.next[state].get(tok)
            if nxt is None:  # only EOS leaves the grammar
                return "eos"
            for _field, value in auto.effects[state][tok].completed:
                known = (*known, value)
            if nxt == LINE_START:
                h, w = (int(v) for v in known[0].split("x"))
                x, y, z = (int(v) for v in known[1:])
                return Brick(h, w, x, y, z), tok
            self.session.feed(tok)
            logits = self.session.logits
            state = nxt

    def _mask_infeasible(self, scores: torch.Tensor, state: int, known: tuple[str, ...]) -> None:
        """Set -inf on the grammar-allowed tokens that cannot lead to a placeable brick."""
        effects = self.auto.effects[state]
        permits = self.oracle.permits  # type: ignore[union-attr]
        banned = [tok for tok, eff in effects.items() if not permits(eff, known)]
        if not banned:
            return
        eos_open = state == LINE_START and len(self.build) >= self.cfg.min_bricks
        if len(banned) == len(effects) and not eos_open:
            self.stats.mask_fallbacks += 1  # keep the grammar mask; the per-brick check still applies
            return
        scores[torch.tensor(banned, device=scores.device)] = float("-inf")
