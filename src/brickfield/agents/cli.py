"""``brickfield agent run``: the machine-design agent workflows from the command line (one command
function, ``run_cmd``, and the ``app`` group holding it; the top-level CLI adds the group as
``agent``).

    brickfield agent run --workflow iterative --search mcts --task catapult:1 \\
        --model Qwen/Qwen2.5-7B-Instruct --base-url http://localhost:8000/v1 --out runs/cat1
    brickfield agent run --workflow single --task car:1 --model hf:smollm2 --max-tokens 512
    brickfield agent run --workflow iterative --task catapult:1 --replay runs/cat1/transcript.jsonl

``--model`` takes ``openai:NAME``, ``hf:PATH`` (``hf:smollm2`` is bundled), ``replay:FILE`` or a plain
name served at ``--base-url`` (OpenAI-compatible; the key comes from OPENAI_API_KEY). A progress
display (stderr, terminals only) counts calls per role and simulations; the end prints a summary
table (``--json``: the result record instead). Files in --out: transcript.jsonl, result.json,
best.json/.bsg, finals/.

Exit codes: 0 the best design is valid, 1 no valid design, 2 usage error (unknown workflow, level,
model spec, prompt folder...), 3 the model endpoint failed and the run stopped (its finished part is
written to --out).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from brickfield.agents.workflows import (
    ABLATIONS,
    WORKFLOWS,
    Ablations,
    Sampling,
    WorkflowAborted,
    WorkflowConfig,
    WorkflowError,
    WorkflowResult,
    replay_model,
    run_workflow,
)
from brickfield.core.cliutil import EXIT_FAIL, EXIT_OK, GuardedGroup, usage_error
from brickfield.core.errors import BrickfieldError
from brickfield.llm import ChatModel, LLMConfigError, make_model

__all__ = ["EXIT_ABORTED", "app", "build_model", "run_cmd", "summary_tables"]

EXIT_ABORTED = 3
_SCHEMES = ("openai", "hf", "replay")

app = typer.Typer(no_args_is_help=True, add_completion=False, cls=GuardedGroup,
                  pretty_exceptions_enable=False)


@app.callback()
def _group() -> None:
    """LLM agent workflows that design machines (BesiegeField paper §4.2): run."""


def build_model(model: str | None, *, base_url: str | None = None, cache: Path | None = None,
                replay: Path | None = None) -> ChatModel:
    """The chat model of the command line options (``LLMConfigError`` for a bad spec)."""
    if replay is not None:
        return replay_model(replay)
    if not model:
        raise LLMConfigError("give --model (openai:NAME, hf:PATH, hf:smollm2, a served model name) or "
                             "--replay")
    scheme = model.split(":", 1)[0].strip().lower() if ":" in model else ""
    spec = model if scheme in _SCHEMES else f"openai:{model}"
    kwargs: dict[str, Any] = {}
    if spec.startswith("openai:") and base_url:
        kwargs["base_url"] = base_url
    if cache is not None and not spec.startswith("replay:"):
        kwargs["cache"] = cache
    return make_model(spec, **kwargs)


def summary_tables(result: WorkflowResult, top: int = 5) -> list[Table]:
    """Per-role model use, and the best final designs."""
    roles = Table(title=f"{result.workflow} on {result.task_id} with {result.model}: "
                        f"{'completed' if result.completed else 'STOPPED'} in {result.wall_s:.1f} s, "
                        f"{result.simulations} simulations")
    for col in ("role", "calls", "failed", "malformed", "prompt tokens", "completion tokens", "model s"):
        roles.add_column(col, justify="left" if col == "role" else "right")
    for name, s in result.roles.items():
        roles.add_row(name, str(s.calls), str(s.failures), str(s.malformed), str(s.prompt_tokens),
                      str(s.completion_tokens), f"{s.seconds:.1f}")
    finals = Table(title=f"final designs ({len(result.finals)}), best first")
    for col in ("#", "status", "reward", "blocks", "from", "reason"):
        finals.add_column(col, justify="right" if col in ("#", "reward", "blocks") else "left")
    for i, d in enumerate(result.finals[:top]):
        ev = d.evaluation
        finals.add_row(str(i), ev.status, f"{d.reward:.3f}", str(ev.metrics.get("n_blocks", "-")), d.origin,
                       (ev.reason or "")[:60])
    return [roles, finals]


def _progress_observer(console: Console) -> tuple[Any, Callable[[dict[str, Any]], None]]:
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                        console=console, disable=not console.is_terminal, transient=True)
    counts: dict[str, int] = {}
    bar = progress.add_task("starting", total=None)

    def observe(record: dict[str, Any]) -> None:
        event = record.get("event")
        if event in ("chat", "chat_error"):
            key = f"{record.get('role')}{'' if event == 'chat' else ' failed'}"
            counts[key] = counts.get(key, 0) + 1
        elif event == "evaluation" and not record.get("reused"):
            counts["simulations"] = counts.get("simulations", 0) + int(bool(record.get("simulated")))
        else:
            return
        progress.update(bar, description=", ".join(f"{k} {v}" for k, v in counts.items()))

    return progress, observe


def _config(seed: int, retries: int, concurrency: int, temperature: float, top_p: float, max_tokens: int,
            switches: list[str]) -> WorkflowConfig:
    return WorkflowConfig(ablations=Ablations.from_switches(switches),
                          sampling=Sampling(temperature, top_p, max_tokens), seed=seed, retries=retries,
                          concurrency=concurrency)


def _default_out(workflow: str, task: str) -> Path:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in f"{workflow}-{task}")
    return Path("runs") / f"{safe}-{time.strftime('%Y%m%d-%H%M%S')}"


def _report(result: WorkflowResult, as_json: bool, out: Path) -> None:
    if as_json:
        typer.echo(json.dumps(result.to_dict(), ensure_ascii=False))
        return
    console = Console()
    for table in summary_tables(result):
        console.print(table)
    best = result.best
    what = f"best: {best.evaluation.status}, reward {best.reward:.3f}" if best else "no design"
    typer.echo(f"{what}; transcript and designs in {out}")


def run_cmd(
    workflow: str = typer.Option("iterative", "--workflow", "-w", help=f"One of {', '.join(WORKFLOWS)}."),
    search: str = typer.Option("mcts", "--search",
                               help="Iterative editing's search: mcts, best-of-n, random."),
    task: str = typer.Option("catapult:1", "--task", help="Level: car:1, catapult:3, delivery:2, fetch:1..."),
    model: str | None = typer.Option(None, "--model", "-m",
                                     help="openai:NAME, hf:PATH, hf:smollm2, replay:FILE, or a model name "
                                          "served at --base-url."),
    base_url: str | None = typer.Option(None, "--base-url", help="OpenAI-compatible endpoint (…/v1)."),
    n: int | None = typer.Option(None, "--n", min=1,
                                 help="single: samples (1); iterative: independent drafts (1); "
                                      "hierarchical: builders per functional block (8)."),
    iterations: int = typer.Option(5, "--iterations", min=0, help="Search iterations (paper: 5)."),
    candidates: int | None = typer.Option(None, "--candidates", min=1,
                                          help="Refinements per expansion (mcts/best-of-n 4, random 1)."),
    retries: int = typer.Option(5, "--retries", min=0, help="Retries per step (paper: 5)."),
    out: Path | None = typer.Option(None, "--out", help="Output folder (default runs/WORKFLOW-TASK-TIME)."),
    prompts: Path | None = typer.Option(None, "--prompts", help="Folder of role prompt templates."),
    seed: int = typer.Option(0, "--seed", help="Run seed (each request's seed derives from it)."),
    workers: int = typer.Option(1, "--workers", min=1, help="Evaluation processes."),
    concurrency: int = typer.Option(8, "--concurrency", min=1, help="Model calls in flight at once."),
    temperature: float = typer.Option(0.7, "--temperature", min=0.0),
    top_p: float = typer.Option(0.95, "--top-p", min=0.0, max=1.0),
    max_tokens: int = typer.Option(4096, "--max-tokens", min=1),
    no_inspector: bool = typer.Option(False, "--no-inspector", help=ABLATIONS["no_inspector"]),
    no_querier: bool = typer.Option(False, "--no-querier", help=ABLATIONS["no_querier"]),
    score_only_feedback: bool = typer.Option(False, "--score-only-feedback",
                                             help=ABLATIONS["score_only_feedback"]),
    no_3d_info: bool = typer.Option(False, "--no-3d-info", help=ABLATIONS["no_3d_info"]),
    no_history: bool = typer.Option(False, "--no-history", help=ABLATIONS["no_history"]),
    global_position: bool = typer.Option(False, "--global-position", help=ABLATIONS["global_position"]),
    cache: Path | None = typer.Option(None, "--cache", help="Request cache folder (answers are reused)."),
    replay: Path | None = typer.Option(None, "--replay",
                                       help="Answer from a run transcript (or cache folder): no model."),
    as_json: bool = typer.Option(False, "--json", help="Print the result record (JSON) instead of tables."),
) -> None:
    """Design a machine with an LLM agent workflow (single agent, iterative editing with search,
    hierarchical design), simulate it and report the best design."""
    from brickfield.agents.prompts import PromptError, load_prompts

    flags = {"no_inspector": no_inspector, "no_querier": no_querier,
             "score_only_feedback": score_only_feedback, "no_3d_info": no_3d_info, "no_history": no_history,
             "global_position": global_position}
    out_dir = out or _default_out(workflow, task)
    try:
        config = _config(seed, retries, concurrency, temperature, top_p, max_tokens,
                         [k for k, v in flags.items() if v])
        prompt_set = load_prompts(prompts) if prompts is not None else None
        chat_model = build_model(model, base_url=base_url, cache=cache, replay=replay)
    except (BrickfieldError, ValueError) as err:
        raise usage_error(str(err)) from None
    console = Console(stderr=True)
    progress, observe = _progress_observer(console)
    try:
        with progress:
            result = run_workflow(workflow, task, chat_model, search=search, iterations=iterations,
                                  candidates=candidates, n=n, config=config, workers=workers,
                                  prompts=prompt_set, out=out_dir, observer=observe)
    except WorkflowAborted as exc:
        _report(exc.result, as_json, out_dir)
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(EXIT_ABORTED) from None
    except (WorkflowError, PromptError, ValueError) as err:
        raise usage_error(str(err)) from None
    except OSError as exc:
        raise usage_error(f"cannot write {out_dir}: {exc.strerror or exc}") from None
    finally:
        close = getattr(chat_model, "close", None)
        if callable(close):
            close()
    _report(result, as_json, out_dir)
    raise typer.Exit(EXIT_OK if result.best is not None and result.best.evaluation.valid else EXIT_FAIL)


app.command("run")(run_cmd)
