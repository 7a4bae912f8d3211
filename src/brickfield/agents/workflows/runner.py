"""Running a workflow end to end: context, transcript, the workflow, and the files it leaves.

``run_workflow("iterative", "catapult:1", model, search="mcts")`` returns a ``WorkflowResult``;
with ``out=DIR`` it writes ``DIR/transcript.jsonl`` (as the run goes), ``DIR/result.json``,
``DIR/best.json`` + ``DIR/best.bsg`` and ``DIR/finals/NN.json`` (+ ``.bsg``). A model endpoint that
dies raises ``WorkflowAborted`` carrying the finished part (its files are written too).
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from brickfield.agents.prompts import PromptSet
from brickfield.agents.workflows.config import WorkflowConfig
from brickfield.agents.workflows.context import EndpointFailure, RunContext
from brickfield.agents.workflows.design import to_bsg_text
from brickfield.agents.workflows.hierarchical import hierarchical_design
from brickfield.agents.workflows.iterative import iterative_editing
from brickfield.agents.workflows.results import WorkflowAborted, WorkflowError, WorkflowResult
from brickfield.agents.workflows.search import SearchStrategy, make_search
from brickfield.agents.workflows.single import single_agent
from brickfield.agents.workflows.transcript import Transcript
from brickfield.core import Evaluator, TaskSpec, get_domain
from brickfield.core.task import TaskSpecError
from brickfield.llm import ChatModel, LLMError

__all__ = ["WORKFLOWS", "arun_workflow", "resolve_task", "run_workflow", "write_outputs"]

WORKFLOWS = ("single", "iterative", "hierarchical")


def resolve_task(task: TaskSpec | str) -> TaskSpec:
    """A machines ``TaskSpec`` from a spec or a level name (``catapult:1``)."""
    if isinstance(task, TaskSpec):
        return task
    try:
        return get_domain("machines").task(str(task))
    except TaskSpecError as exc:
        raise WorkflowError(str(exc)) from None


def _workflow_name(name: str) -> str:
    key = name.strip().lower().replace("_", "-")
    aliases = {"single-agent": "single", "iterative-editing": "iterative",
               "hierarchical-design": "hierarchical"}
    key = aliases.get(key, key)
    if key not in WORKFLOWS:
        raise WorkflowError(f"unknown workflow {name!r}; choose one of {WORKFLOWS}")
    return key


async def _dispatch(ctx: RunContext, workflow: str, search: SearchStrategy, n: int | None) -> list[Any]:
    if workflow == "single":
        return await single_agent(ctx, samples=n or 1)
    if workflow == "iterative":
        return await iterative_editing(ctx, search, drafts=n or 1)
    return await hierarchical_design(ctx, builders=n or 8)


async def arun_workflow(workflow: str, task: TaskSpec | str, model: ChatModel, *,
                        search: str | SearchStrategy = "mcts", iterations: int = 5,
                        candidates: int | None = None, n: int | None = None,
                        config: WorkflowConfig | None = None, evaluator: Evaluator | None = None,
                        workers: int = 1, prompts: PromptSet | None = None,
                        out: str | os.PathLike[str] | None = None,
                        observer: Callable[[dict[str, Any]], None] | None = None) -> WorkflowResult:
    """Run ``workflow`` (single, iterative, hierarchical) on ``task`` with ``model``.

    ``n``: samples (single, default 1), independent drafts (iterative, default 1) or builders per
    stage (hierarchical, default 8). ``search``/``iterations``/``candidates`` configure the
    iterative workflow's search (MCTS 5 x 4 by default). ``observer`` sees every transcript record."""
    name = _workflow_name(workflow)
    spec = resolve_task(task)
    config = config or WorkflowConfig()
    strategy = search if not isinstance(search, str) else make_search(
        search, iterations=iterations, candidates=candidates, seed=config.seed)
    if n is not None and n < 1:
        raise WorkflowError("n must be >= 1")
    out_dir = Path(out) if out is not None else None
    transcript = Transcript(out_dir / "transcript.jsonl" if out_dir else None, observer=observer)
    try:
        with RunContext(model, spec, config=config, evaluator=evaluator, workers=workers,
                        transcript=transcript, prompts=prompts) as ctx:
            ctx.record("run_start", workflow=name, task=spec.to_dict(), model=model.name, n=n,
                       search=strategy.to_dict() if name == "iterative" else None, config=config.to_dict())
            try:
                finals = await _dispatch(ctx, name, strategy, n)
                _check_any_answer(ctx)
            except EndpointFailure as exc:
                cause = exc.cause
                result = ctx.result(name, list(ctx.partial.values()), completed=False,
                                    error={"type": type(cause).__name__, "message": str(exc)})
                _finish(ctx, result, out_dir)
                raise WorkflowAborted(str(exc), result, cause) from cause
            result = ctx.result(name, finals)
            _finish(ctx, result, out_dir)
            return result
    finally:
        transcript.close()


def _check_any_answer(ctx: RunContext) -> None:
    """A run whose every call failed did not run at all (e.g. one single-agent call to a dead server,
    below the consecutive-failure limit): that is an endpoint failure, not a bad design."""
    failures = sum(s.failures for s in ctx.roles.values())
    if failures and not any(s.calls for s in ctx.roles.values()):
        last = next((e for e in reversed(ctx.transcript.events) if e["event"] == "chat_error"), {})
        cause = LLMError(f"{last.get('error_type', 'LLMError')}: {last.get('message', '')}")
        raise EndpointFailure(f"model endpoint failed: every call failed ({failures}); last: "
                              f"{last.get('error_type')}: {last.get('message', '')}", ctx.last_error or cause)


def _finish(ctx: RunContext, result: WorkflowResult, out_dir: Path | None) -> None:
    ctx.record("run_end", result=result.to_dict())
    if out_dir is not None:
        write_outputs(result, ctx.task, out_dir)


def write_outputs(result: WorkflowResult, task: TaskSpec, out_dir: str | os.PathLike[str]) -> list[Path]:
    """Write ``result.json``, the best design (``best.json``/``best.bsg``) and every final
    (``finals/NN.json``/``.bsg``); returns the paths written."""
    out = Path(out_dir)
    (out / "finals").mkdir(parents=True, exist_ok=True)
    written = [out / "result.json"]
    written[0].write_text(json.dumps(result.to_dict(), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    designs = [("best", result.best)] if result.best else []
    designs += [(f"finals/{i:02d}", d) for i, d in enumerate(result.finals)]
    for stem, rec in designs:
        if rec is None or not rec.design_text:
            continue
        path = out / f"{stem}.json"
        path.write_text(rec.design_text + "\n", encoding="utf-8")
        written.append(path)
        bsg = to_bsg_text(rec.design_text, task, name=f"{task.name} {stem}")
        if bsg is not None:
            (out / f"{stem}.bsg").write_text(bsg, encoding="utf-8")
            written.append(out / f"{stem}.bsg")
    return written


def run_workflow(workflow: str, task: TaskSpec | str, model: ChatModel, **kwargs: Any) -> WorkflowResult:
    """Blocking ``arun_workflow`` (works inside a running event loop too, on a helper thread)."""
    coro = arun_workflow(workflow, task, model, **kwargs)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["result"] = asyncio.run(coro)
        except BaseException as exc:  # re-raised in the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=target, name="brickfield-workflow")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["result"]
