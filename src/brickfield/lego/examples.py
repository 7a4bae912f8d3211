"""Bundled example structures (our own), used by the demo, docs and tests."""

from __future__ import annotations

from importlib import resources

from brickfield.lego.structure import Structure
from brickfield.lego.textformat import parse_structure

_PACKAGE = "brickfield.lego.data.examples"


def example_names() -> list[str]:
    """Names of the bundled examples, sorted."""
    return sorted(p.name.removesuffix(".txt") for p in resources.files(_PACKAGE).iterdir()
                  if p.name.endswith(".txt"))


def example_text(name: str) -> str:
    """Brick text of a bundled example; KeyError naming the known ones if there is none."""
    try:
        return resources.files(_PACKAGE).joinpath(f"{name}.txt").read_text()
    except FileNotFoundError:
        raise KeyError(f"no example {name!r}; known: {example_names()}") from None


def load_example(name: str) -> Structure:
    """Parse a bundled example (strict format)."""
    return parse_structure(example_text(name), strict=True)
