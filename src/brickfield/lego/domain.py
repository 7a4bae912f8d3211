"""Registers the LEGO domain with the core registry (name ``lego``)."""

from __future__ import annotations

from dataclasses import dataclass

from brickfield.core.contract import Evaluation, Task
from brickfield.core.registry import register_domain
from brickfield.lego.evaluate import evaluate_structure
from brickfield.lego.structure import Structure
from brickfield.lego.textformat import ParsedText, parse_text


@dataclass(frozen=True)
class LegoDomain:
    """`parse` is lenient (malformed lines become `ill_formatted` items); `evaluate` checks, runs the
    stability analysis and, given a target, the PVPO reward."""

    name: str = "lego"

    def parse(self, text: str) -> ParsedText:
        """Lenient parse (:func:`brickfield.lego.textformat.parse_text`)."""
        return parse_text(text)

    def evaluate(self, design: Structure | ParsedText, task: Task) -> Evaluation:
        """:func:`brickfield.lego.evaluate.evaluate_structure` of `design` on `task`."""
        return evaluate_structure(design, task)


DOMAIN = LegoDomain()
register_domain(DOMAIN)
