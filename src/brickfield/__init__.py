"""brickfield: open verifiers, simulators and rewards for LLM design of brick structures and machines."""

__version__ = "0.1.0"

__all__ = ["__version__"]
