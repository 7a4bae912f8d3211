"""Typed errors of the generation package."""

from __future__ import annotations

from brickfield.core.errors import BrickfieldError


class GenerationError(BrickfieldError):
    """Structure generation could not run (bad arguments, a tokenizer that cannot spell the grammar,
    a model that cannot be loaded). ``code`` is stable and machine-readable."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(f"{message} [{code}]")
