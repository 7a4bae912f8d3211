"""Caption -> brick structure generation with any causal LM, constrained brick by brick.

Local Hugging Face models (:func:`generate_structure`):

* a token-level automaton of the brick grammar built from the tokenizer's own vocabulary (any space
  convention, whole or split numbers), applied as one precomputed bias add per step;
* per-brick checks with rejection and KV-cache rollback by ``cache.crop`` (``mode="parity"``, BrickGPT's
  sampler) or masks that rule out off-grid and colliding coordinates before they are sampled
  (``mode="fast"``, no rejections, a locally renormalised distribution);
* physics-aware rollback: an unstable result is cut before its first failing brick (BrickGPT's rule)
  and generation continues from there, up to ``max_regenerations`` times.

Models behind an OpenAI-compatible server (:func:`generate_structure_endpoint`): the grammar as a regex
constraint where supported, valid-prefix continuation otherwise. :func:`best_of_n` picks the best of N
candidates by validity, stability, voxel reward or a user function. Statistics per generation:
:class:`GenerationStats`. CLI: :func:`brickfield.gen.cli.generate_command`.

Names load lazily, so importing the package does not import torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from brickfield.gen.automaton import TokenAutomaton
    from brickfield.gen.best import (
        BestOfN,
        best_of_n,
        get_scorer,
        stability_score,
        validity_score,
        voxel_scorer,
    )
    from brickfield.gen.decoder import DecodeConfig
    from brickfield.gen.endpoint import generate_structure_endpoint
    from brickfield.gen.errors import GenerationError
    from brickfield.gen.generate import generate_structure, get_automaton
    from brickfield.gen.grammar import BrickGrammar
    from brickfield.gen.prompt import brick_messages, system_prompt
    from brickfield.gen.rollback import first_unstable_brick, stable_prefix
    from brickfield.gen.stats import Generation, GenerationStats, stability_at_k, summarize

_WHERE = {
    "TokenAutomaton": "automaton", "BestOfN": "best", "best_of_n": "best", "get_scorer": "best",
    "stability_score": "best", "validity_score": "best", "voxel_scorer": "best", "DecodeConfig": "decoder",
    "generate_structure_endpoint": "endpoint", "GenerationError": "errors", "generate_structure": "generate",
    "get_automaton": "generate", "BrickGrammar": "grammar", "brick_messages": "prompt",
    "system_prompt": "prompt", "first_unstable_brick": "rollback", "stable_prefix": "rollback",
    "Generation": "stats", "GenerationStats": "stats", "stability_at_k": "stats", "summarize": "stats",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f"brickfield.gen.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'brickfield.gen' has no attribute {name!r}")


__all__ = [
    "BestOfN",
    "BrickGrammar",
    "DecodeConfig",
    "Generation",
    "GenerationError",
    "GenerationStats",
    "TokenAutomaton",
    "best_of_n",
    "brick_messages",
    "first_unstable_brick",
    "generate_structure",
    "generate_structure_endpoint",
    "get_automaton",
    "get_scorer",
    "stability_at_k",
    "stability_score",
    "stable_prefix",
    "summarize",
    "system_prompt",
    "validity_score",
    "voxel_scorer",
]
