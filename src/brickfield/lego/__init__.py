"""LEGO brick structures (BrickGPT format): parse, check, analyse stability, score, export.

Typical use::

    from brickfield.lego import evaluate_text
    ev = evaluate_text(model_output)          # per-brick checks + stability (+ PVPO with a target)
    ev.valid, ev.details["stable"], ev.details["scores"]
"""

from brickfield.lego.checks import BuildState, CheckReport, can_add, check_structure
from brickfield.lego.domain import evaluate_text
from brickfield.lego.evaluate import evaluate_parsed
from brickfield.lego.ldraw import from_ldr, to_ldr
from brickfield.lego.rewards import pvpo_reward, pvpo_reward_from_text, r_phys, r_vox
from brickfield.lego.stability.solve import StabilityConfig, StabilityResult, analyze_stability
from brickfield.lego.structure import Brick, Structure
from brickfield.lego.tasks import lego_task, lego_tasks
from brickfield.lego.textformat import ParsedText, format_structure, parse_structure, parse_text
from brickfield.lego.voxels import compare, iou, voxelize

__all__ = [
    "Brick",
    "BuildState",
    "CheckReport",
    "ParsedText",
    "StabilityConfig",
    "StabilityResult",
    "Structure",
    "analyze_stability",
    "can_add",
    "check_structure",
    "compare",
    "evaluate_parsed",
    "evaluate_text",
    "format_structure",
    "from_ldr",
    "iou",
    "lego_task",
    "lego_tasks",
    "parse_structure",
    "parse_text",
    "pvpo_reward",
    "pvpo_reward_from_text",
    "r_phys",
    "r_vox",
    "to_ldr",
    "voxelize",
]
