"""brickfield: open verifiers, simulators and rewards for LLM design of brick structures and machines."""

__version__ = "0.1.0"

__all__ = ["__version__"]


def _register_gym_ids() -> None:
    """Register the Gymnasium ids when gymnasium is installed (it is not imported otherwise)."""
    import importlib.util

    if importlib.util.find_spec("gymnasium") is not None:
        from brickfield.envs.registration import register_envs

        register_envs()


_register_gym_ids()
