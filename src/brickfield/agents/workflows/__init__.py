"""The machine-design agent workflows of the BesiegeField paper (§4.2, App. C-D, G).

* ``single``: one agent reasons and writes the construction tree in one call.
* ``iterative``: designer -> inspector -> refiner, then search (MCTS, best-of-N, random) over
  environment-querier + refiner steps.
* ``hierarchical``: a meta-designer's blueprint of functional blocks, built stage by stage by
  parallel builders.

Entry point: ``run_workflow(workflow, task, model, ...)`` (``arun_workflow`` in async code) ->
``WorkflowResult``. The ablations are ``WorkflowConfig(ablations=Ablations(...))``; the search core
is model-free (``search``). Every run writes a JSONL transcript from which ``replay_model`` replays
it with no model at hand.
"""

from brickfield.agents.workflows.config import ABLATIONS, Ablations, Sampling, WorkflowConfig
from brickfield.agents.workflows.context import RunContext
from brickfield.agents.workflows.hierarchical import hierarchical_design
from brickfield.agents.workflows.iterative import iterative_editing
from brickfield.agents.workflows.results import (
    DesignRecord,
    RoleStats,
    WorkflowAborted,
    WorkflowError,
    WorkflowResult,
)
from brickfield.agents.workflows.runner import (
    WORKFLOWS,
    arun_workflow,
    resolve_task,
    run_workflow,
    write_outputs,
)
from brickfield.agents.workflows.search import (
    MCTS,
    SEARCHES,
    BestOfN,
    RandomSearch,
    SearchNode,
    SearchStrategy,
    SearchTree,
    arun_search,
    make_search,
    run_search,
    ucb,
)
from brickfield.agents.workflows.single import single_agent
from brickfield.agents.workflows.transcript import Transcript, chat_records, read_events, replay_model

__all__ = [
    "ABLATIONS", "MCTS", "SEARCHES", "WORKFLOWS", "Ablations", "BestOfN", "DesignRecord", "RandomSearch",
    "RoleStats", "RunContext", "Sampling", "SearchNode", "SearchStrategy", "SearchTree", "Transcript",
    "WorkflowAborted", "WorkflowConfig", "WorkflowError", "WorkflowResult", "arun_search", "arun_workflow",
    "chat_records", "hierarchical_design", "iterative_editing", "make_search", "read_events", "replay_model",
    "resolve_task", "run_search", "run_workflow", "single_agent", "ucb", "write_outputs",
]
