"""Prompts for caption-to-bricks generation and their token ids.

Two styles: ``"brickfield"`` (our own short system prompt, the default, written for instruct models
that have never seen the format) and ``"brickgpt"`` (BrickGPT's instruction, from
:mod:`brickfield.lego.prompts`, for models fine-tuned on StableText2Brick).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from brickfield.gen.errors import GenerationError
from brickfield.lego.library import ALLOWED_DIMENSIONS, DEFAULT_WORLD_DIM
from brickfield.lego.prompts import BRICK_SYSTEM_PROMPT, brick_instruction
from brickfield.lego.structure import world_dims

PromptStyle = Literal["brickfield", "brickgpt"]


def system_prompt(world_dim: int | Sequence[int] = DEFAULT_WORLD_DIM) -> str:
    """Our system prompt: the line format, the grid, the sizes and how to build, in a few lines."""
    dx, dy, dz = world_dims(world_dim)
    return (
        "You build LEGO models out of plain rectangular bricks. Reply with bricks only, one per line, "
        "as `HxW (x,y,z)`: the brick covers H studs along x and W studs along y, and (x,y,z) is its "
        f"lowest corner on a {dx}x{dy}x{dz} grid (x 0-{dx - 1}, y 0-{dy - 1}, layer z 0-{dz - 1}). "
        f"Every brick is one layer tall. Sizes: {', '.join(ALLOWED_DIMENSIONS)}.\n"
        "Start at z=0 and work upwards layer by layer; each brick must rest on the ground or on a brick "
        "below it, and bricks must not overlap."
    )


def brick_messages(caption: str, *, world_dim: int | Sequence[int] = DEFAULT_WORLD_DIM,
                   style: PromptStyle = "brickfield") -> list[dict[str, str]]:
    """The chat messages asking for a structure of ``caption``."""
    if style == "brickgpt":
        return [{"role": "system", "content": BRICK_SYSTEM_PROMPT},
                {"role": "user", "content": brick_instruction(caption)}]
    if style != "brickfield":
        raise GenerationError("bad_prompt_style", f"unknown prompt style {style!r}")
    return [{"role": "system", "content": system_prompt(world_dim)},
            {"role": "user", "content": f"Build: {caption}"}]


def prompt_ids(tokenizer: Any, messages: Sequence[dict[str, str]]) -> list[int]:
    """Token ids of ``messages`` followed by the start of the assistant turn.

    Uses the tokenizer's chat template when it has one; otherwise (base models, test tokenizers)
    the messages' contents joined by blank lines, after the tokenizer's BOS if it adds one.
    """
    if getattr(tokenizer, "chat_template", None):
        text = tokenizer.apply_chat_template(list(messages), add_generation_prompt=True, tokenize=False)
        ids = tokenizer.encode(text, add_special_tokens=False)
    else:
        text = "\n\n".join(m["content"] for m in messages) + "\n\n"
        ids = tokenizer.encode(text, add_special_tokens=True)
    ids = [int(i) for i in ids]
    if not ids:
        raise GenerationError("empty_prompt", "the prompt encodes to no tokens")
    return ids
