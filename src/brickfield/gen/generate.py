"""``generate_structure``: caption -> structure with a local Hugging Face causal LM.

Flow: prompt -> brick-by-brick constrained decoding with per-brick rejection
(:mod:`brickfield.gen.decoder`) -> stability analysis -> if unstable, BrickGPT's truncation
(:mod:`brickfield.gen.rollback`) and generation continues from the kept prefix, up to
``max_regenerations`` times. Continuing means rewinding the live KV cache to the start of the first
dropped brick's line (a crop plus one forward pass), not re-prompting: the model sees exactly the
tokens it generated for the kept bricks (BrickGPT re-tokenises the prefix into a fresh prompt).
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Sequence
from typing import Any

import torch

from brickfield.gen.automaton import TokenAutomaton
from brickfield.gen.decoder import BrickDecoder, DecodeConfig, Mode
from brickfield.gen.errors import GenerationError
from brickfield.gen.prompt import PromptStyle, brick_messages, prompt_ids
from brickfield.gen.rollback import OnUnstable, stable_prefix
from brickfield.gen.session import ModelSession
from brickfield.gen.stats import Generation, GenerationStats
from brickfield.lego.library import DEFAULT_WORLD_DIM
from brickfield.lego.stability import StabilityConfig, StabilityResult, analyze_stability
from brickfield.lego.structure import Structure, world_dims

_AUTOMATA: weakref.WeakKeyDictionary[Any, dict[tuple[Any, ...], TokenAutomaton]] = weakref.WeakKeyDictionary()


def get_automaton(tokenizer: Any, *, world_dim: int | Sequence[int] = DEFAULT_WORLD_DIM,
                  vocab_size: int | None = None, eos: Sequence[int] | None = None,
                  model: Any | None = None) -> TokenAutomaton:
    """The :class:`TokenAutomaton` for this tokenizer and grid, built once per tokenizer object."""
    key = (world_dims(world_dim), vocab_size, tuple(eos) if eos else None,
           None if model is None else repr(getattr(getattr(model, "generation_config", None),
                                                   "eos_token_id", None)))
    try:
        per_tok = _AUTOMATA.setdefault(tokenizer, {})
    except TypeError:  # not weak-referenceable: no caching
        return TokenAutomaton(tokenizer, world_dim=world_dim, vocab_size=vocab_size, eos=eos, model=model)
    if key not in per_tok:
        per_tok[key] = TokenAutomaton(tokenizer, world_dim=world_dim, vocab_size=vocab_size, eos=eos,
                                      model=model)
    return per_tok[key]


def _model_vocab(model: Any) -> int | None:
    size = getattr(getattr(model, "config", None), "vocab_size", None)
    return int(size) if size else None


def _finish(structure: Structure, stats: GenerationStats, result: StabilityResult | None,
            caption: str, seed: int) -> Generation:
    stats.bricks = len(structure)
    if result is not None:
        stats.stable = bool(result.stable)
    return Generation(structure, structure.to_text(), stats, caption, seed, result)


def _analyze(structure: Structure, stats: GenerationStats, cfg: StabilityConfig | None) -> StabilityResult:
    t0 = time.perf_counter()
    res = analyze_stability(structure, cfg)
    stats.stability_seconds += time.perf_counter() - t0
    return res


def _fail_text(result: StabilityResult) -> str:
    return ", ".join(result.fail_kinds) or result.status


def generate_structure(
    model: Any, tokenizer: Any, caption: str, *, mode: Mode = "fast", max_bricks: int = 2000,
    min_bricks: int = 1, seed: int = 0, world_dim: int | Sequence[int] = DEFAULT_WORLD_DIM,
    rollback: bool = True, max_regenerations: int = 100, temperature: float = 0.6,
    max_brick_rejections: int = 500, reject_floating: bool = False, top_k: int | None = None,
    max_tokens: int | None = None, prompt_style: PromptStyle = "brickfield",
    messages: Sequence[dict[str, str]] | None = None, analyze: bool = True, on_unstable: OnUnstable = "last",
    stability_config: StabilityConfig | None = None, automaton: TokenAutomaton | None = None,
) -> Generation:
    """Generate one brick structure for ``caption`` with a local causal LM.

    Args:
        model: a Hugging Face causal LM (e.g. ``LlamaForCausalLM``), in eval mode.
        tokenizer: its tokenizer (any space convention, digits split or not).
        caption: what to build.
        mode: ``"fast"`` masks infeasible coordinates before sampling them (no rejections; samples a
            locally renormalised distribution) or ``"parity"`` samples whole lines and rejects
            them like BrickGPT. See :mod:`brickfield.gen.decoder`.
        max_bricks: brick budget.
        min_bricks: EOS is masked until this many bricks are placed.
        seed: sampling seed (same inputs and seed -> same structure).
        world_dim: grid size (int = cube).
        rollback: on an unstable result, truncate (BrickGPT's rule) and continue, up to
            ``max_regenerations`` times.
        temperature, max_brick_rejections, reject_floating, top_k, max_tokens: see
            :class:`DecodeConfig`.
        prompt_style: ``"brickfield"`` (our system prompt) or ``"brickgpt"``.
        messages: chat messages to use instead of the built prompt.
        analyze: run the stability analysis on the result (forced on with ``rollback``).
        on_unstable: when the last attempt is still unstable, return it (``"last"``, BrickGPT) or
            its stable prefix under the same truncation rule (``"stable_prefix"``).
        stability_config: options of :func:`analyze_stability`.
        automaton: a prebuilt :class:`TokenAutomaton` (else built once per tokenizer and cached).

    Returns:
        A :class:`Generation` (structure, text, stats, stability).
    """
    t_start = time.perf_counter()
    if max_regenerations < 0:
        raise GenerationError("bad_limit", "max_regenerations must be >= 0")
    if on_unstable not in ("last", "stable_prefix"):
        raise GenerationError("bad_option",
                              f"on_unstable must be 'last' or 'stable_prefix', got {on_unstable!r}")
    cfg = DecodeConfig(mode=mode, temperature=temperature, max_brick_rejections=max_brick_rejections,
                       max_bricks=max_bricks, min_bricks=min_bricks, reject_floating=reject_floating,
                       top_k=top_k, max_tokens=max_tokens)
    auto = automaton or get_automaton(tokenizer, world_dim=world_dim, vocab_size=_model_vocab(model),
                                      model=model)
    if auto.grammar.world_dim != world_dims(world_dim):
        raise GenerationError("bad_automaton", "the automaton was built for another world_dim")
    stats = GenerationStats()
    msgs = list(messages) if messages is not None else brick_messages(caption, world_dim=world_dim,
                                                                     style=prompt_style)
    session = ModelSession(model, prompt_ids(tokenizer, msgs), stats)
    generator = torch.Generator(device=session.device).manual_seed(int(seed))
    decoder = BrickDecoder(session, auto, cfg, stats, generator)

    result: StabilityResult | None = None
    for attempt in range(max_regenerations + 1 if rollback else 1):
        stats.stop_reason = decoder.run()
        structure = decoder.structure
        if not (analyze or rollback):
            break
        result = _analyze(structure, stats, stability_config)
        stats.attempts_stable.append(bool(result.stable))
        out_of_tokens = stats.stop_reason == "max_tokens"  # a regeneration could not add anything
        if result.stable or not rollback or attempt == max_regenerations or out_of_tokens:
            break
        cut = stable_prefix(structure, result, lambda s: analyze_stability(s, stability_config))
        stats.stability_seconds += cut.seconds
        stats.regenerations += 1
        stats.bricks_removed += len(structure) - cut.keep
        decoder.truncate(cut.keep)

    structure = decoder.structure
    if result is not None and not result.stable:
        why = ("max_tokens reached" if stats.stop_reason == "max_tokens"
               else f"max_regenerations ({max_regenerations}) reached" if rollback else "rollback off")
        stats.unstable_reason = f"{why}; failing: {_fail_text(result)}"
        if on_unstable == "stable_prefix":
            cut = stable_prefix(structure, result, lambda s: analyze_stability(s, stability_config))
            stats.stability_seconds += cut.seconds
            structure = Structure(structure.bricks[:cut.keep], structure.world_dim)
            result = cut.results[-1] if cut.keep else _analyze(structure, stats, stability_config)
            stats.unstable_reason += f"; returned the stable prefix of {cut.keep} bricks"
    gen = _finish(structure, stats, result, caption, seed)
    stats.total_seconds = time.perf_counter() - t_start
    return gen
