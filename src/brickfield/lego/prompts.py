"""Prompt texts of the LEGO domain: BrickGPT's system message and instruction format, kept verbatim in
structure so that models fine-tuned on StableText2Brick see the format they were trained on."""

from __future__ import annotations

from brickfield.lego.library import ALLOWED_DIMENSIONS

__all__ = ["BRICK_SYSTEM_PROMPT", "brick_instruction"]

BRICK_SYSTEM_PROMPT = "You are a helpful assistant."
"""BrickGPT's system message."""


def brick_instruction(caption: str) -> str:
    """BrickGPT's user instruction for ``caption`` (the documented task statement format)."""
    return ("Create a LEGO model of the input. Format your response as a list of bricks: "
            "<brick dimensions> <brick position>, where the brick position is (x,y,z).\n"
            f"Allowed brick dimensions are {', '.join(ALLOWED_DIMENSIONS)}.\n"
            "All bricks are 1 unit tall.\n\n"
            f"### Input:\n{caption}")
