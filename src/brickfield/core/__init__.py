"""Domain-agnostic contract shared by every domain (lego, machines, ...)."""

from brickfield.core.batch import Evaluator, evaluate_many, evaluate_one
from brickfield.core.contract import FEEDBACK_LEVELS, Design, Domain, DomainBase, Parsed
from brickfield.core.errors import (
    BrickfieldError,
    InputTooLargeError,
    InvalidArgumentError,
    ParseError,
    ParseIssue,
    SimulationError,
)
from brickfield.core.evaluation import STATUSES, Evaluation, Feedback
from brickfield.core.registry import get_domain, list_domains, register_domain
from brickfield.core.task import Limits, RewardSpec, SuccessRule, TaskSpec, TaskSpecError

__all__ = [
    "FEEDBACK_LEVELS",
    "STATUSES",
    "BrickfieldError",
    "Design",
    "Domain",
    "DomainBase",
    "Evaluation",
    "Evaluator",
    "Feedback",
    "InputTooLargeError",
    "InvalidArgumentError",
    "Limits",
    "ParseError",
    "ParseIssue",
    "Parsed",
    "RewardSpec",
    "SimulationError",
    "SuccessRule",
    "TaskSpec",
    "TaskSpecError",
    "evaluate_many",
    "evaluate_one",
    "get_domain",
    "list_domains",
    "register_domain",
]
