"""Domain-agnostic contract shared by every domain (lego, machines, ...)."""

from brickfield.core.contract import Design, Domain, Evaluation, Task
from brickfield.core.errors import BrickfieldError, InputTooLargeError, ParseError, SimulationError
from brickfield.core.registry import get_domain, list_domains, register_domain

__all__ = [
    "BrickfieldError",
    "Design",
    "Domain",
    "Evaluation",
    "InputTooLargeError",
    "ParseError",
    "SimulationError",
    "Task",
    "get_domain",
    "list_domains",
    "register_domain",
]
