"""Static stability of brick structures: the LP model (``model``) and its solution (``solve``)."""

from brickfield.lego.stability.solve import StabilityConfig, StabilityResult, analyze_stability

__all__ = ["StabilityConfig", "StabilityResult", "analyze_stability"]
