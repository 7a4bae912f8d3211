"""The run context every workflow step goes through: the model, the task, the evaluator, the
transcript, the prompts, the settings and the counters.

Model calls (``chat``) run concurrently on ``ChatModel.acomplete`` under a semaphore; each request's
seed is derived from the run seed and the call's *path* (``designer/d0/try1``), so results do not
depend on which concurrent call finishes first and a replay asks exactly the recorded requests.
A call that still fails after the client's retries is recorded and answered with None (the step
treats it like a malformed answer: retry or fall back); ``max_consecutive_failures`` such failures
in a row, a replay miss or a refused credential mean the endpoint is gone and raise
``EndpointFailure``, which the workflow turns into ``WorkflowAborted`` with the finished work.
Evaluations go in batches through one ``Evaluator`` kept for the run, memoised by design text
(evaluation is deterministic).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
from collections.abc import Awaitable, Iterator, Sequence
from typing import Any, TypeVar

from brickfield.agents.prompts import PromptSet, RolePrompt, default_prompts
from brickfield.agents.workflows.config import WorkflowConfig
from brickfield.agents.workflows.results import DesignRecord, RoleStats, WorkflowError, WorkflowResult
from brickfield.agents.workflows.transcript import Transcript
from brickfield.core import Evaluation, Evaluator, TaskSpec, evaluate_many, get_domain
from brickfield.core.errors import BrickfieldError
from brickfield.llm import ChatModel, ChatRequest, LLMError, LLMRequestError, ReplayMissError

__all__ = ["EndpointFailure", "RunContext", "gather"]

_FATAL_STATUS = (401, 403, 404)
T = TypeVar("T")


class EndpointFailure(BrickfieldError):
    """The model endpoint is unusable (internal: the workflow raises ``WorkflowAborted``)."""

    def __init__(self, message: str, cause: BaseException) -> None:
        super().__init__(message)
        self.cause = cause


async def gather(*aws: Awaitable[T]) -> list[T]:
    """Run coroutines concurrently, results in order; the first ``EndpointFailure`` cancels the rest
    and is raised as itself (not wrapped in an exception group)."""
    try:
        async with asyncio.TaskGroup() as tg:
            tasks = [tg.create_task(a) for a in aws]  # type: ignore[arg-type]
    except* EndpointFailure as group:
        raise group.exceptions[0] from None
    return [t.result() for t in tasks]


class RunContext:
    """Shared state of one run (see the module docstring). ``evaluator=None`` makes a serial one
    (or ``workers`` processes) owned and closed by the context."""

    def __init__(self, model: ChatModel, task: TaskSpec, *, config: WorkflowConfig | None = None,
                 evaluator: Evaluator | None = None, workers: int = 1, transcript: Transcript | None = None,
                 prompts: PromptSet | None = None) -> None:
        if task.domain != "machines":
            raise WorkflowError(f"the agent workflows design machines; got a {task.domain!r} task")
        self.model = model
        self.task = task
        self.config = config or WorkflowConfig()
        self.domain = get_domain(task.domain)
        self._own_evaluator = evaluator is None
        self.evaluator = evaluator or Evaluator(workers)
        self.transcript = transcript or Transcript()
        self.prompts = prompts or default_prompts()
        self.roles: dict[str, RoleStats] = {}
        self.simulations = 0
        self.evaluations = 0
        self.partial: dict[str, DesignRecord] = {}  # evaluated designs by text (kept if the run aborts)
        self.search: list[dict[str, Any]] = []
        self._memo: dict[str, Evaluation] = {}
        self._failures = 0
        self.last_error: LLMError | None = None
        self._sem: asyncio.Semaphore | None = None
        self._eval_lock: asyncio.Lock | None = None
        self._t0 = time.monotonic()

    # --- lifecycle ---------------------------------------------------------------------------------
    def close(self) -> None:
        """Close the evaluator if the context made it (the transcript belongs to the caller)."""
        if self._own_evaluator:
            self.evaluator.close()

    def __enter__(self) -> RunContext:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def ablations(self) -> Any:
        """The run's ablation switches."""
        return self.config.ablations

    def stats(self, role: str) -> RoleStats:
        """The counters of ``role``."""
        return self.roles.setdefault(role, RoleStats())

    def record(self, event: str, **fields: Any) -> None:
        """Write a transcript event."""
        self.transcript.write(event, **fields)

    @contextlib.contextmanager
    def timed(self, name: str, path: str, **fields: Any) -> Iterator[dict[str, Any]]:
        """Record a ``step`` event when the block ends: wall time and the calls, failed calls,
        tokens and simulations spent in it (concurrent steps count each other's work too), plus
        ``fields`` and whatever the block puts in the dict it gets."""
        start = time.monotonic()
        before = self._totals()
        extra: dict[str, Any] = dict(fields)
        try:
            yield extra
        finally:
            after = self._totals()
            self.record("step", name=name, path=path, seconds=round(time.monotonic() - start, 4),
                        **{k: after[k] - before[k] for k in after}, **extra)

    def _totals(self) -> dict[str, int]:
        stats = self.roles.values()
        return {"calls": sum(s.calls for s in stats), "failures": sum(s.failures for s in stats),
                "tokens": sum(s.prompt_tokens + s.completion_tokens for s in stats),
                "simulations": self.simulations}

    # --- model calls ---------------------------------------------------------------------------------
    def seed_for(self, path: str) -> int:
        """The request seed of the call at ``path`` (31-bit, from the run seed)."""
        digest = hashlib.sha256(f"{self.config.seed}:{path}".encode()).hexdigest()
        return int(digest[:8], 16) & 0x7FFFFFFF

    def render(self, role: str, **context: Any) -> RolePrompt:
        """The role's prompt for this task."""
        return self.prompts.render(role, self.task, **context)

    async def chat(self, role: str, messages: Sequence[dict[str, str]], path: str) -> str | None:
        """One completion for ``messages``; None when the call failed (recorded)."""
        s = self.config.sampling
        request = ChatRequest(messages=tuple(messages), temperature=s.temperature, top_p=s.top_p,
                              max_tokens=s.max_tokens, seed=self.seed_for(path))
        if self._sem is None:
            self._sem = asyncio.Semaphore(self.config.concurrency)
        stats = self.stats(role)
        start = time.monotonic()
        async with self._sem:
            try:
                result = await self.model.acomplete(request)
            except LLMError as exc:
                stats.failures += 1
                self.record("chat_error", role=role, path=path, error_type=type(exc).__name__,
                            message=str(exc)[:2000], seconds=round(time.monotonic() - start, 4))
                self._failed(exc)
                return None
        self._failures = 0
        stats.calls += 1
        stats.prompt_tokens += result.usage.prompt_tokens
        stats.completion_tokens += result.usage.completion_tokens
        stats.seconds += result.seconds
        self.record("chat", role=role, path=path, key=request.key(self.model.name), model=self.model.name,
                    request=request.to_dict(), result=result.to_dict(),
                    seconds=round(time.monotonic() - start, 4))
        return result.text

    def _failed(self, exc: LLMError) -> None:
        self._failures += 1
        self.last_error = exc
        fatal = isinstance(exc, ReplayMissError) or (
            isinstance(exc, LLMRequestError) and exc.status in _FATAL_STATUS)
        if fatal or self._failures >= self.config.max_consecutive_failures:
            why = "fatal error" if fatal else f"{self._failures} failed calls in a row"
            raise EndpointFailure(f"model endpoint failed ({why}): {type(exc).__name__}: {exc}", exc)

    def malformed(self, role: str, path: str, kind: str, errors: Sequence[str], **fields: Any) -> None:
        """Record an answer that could not be used."""
        self.stats(role).malformed += 1
        self.record("parse", role=role, path=path, kind=kind, ok=False, errors=list(errors)[:20], **fields)

    # --- evaluation ----------------------------------------------------------------------------------
    async def evaluate(self, items: Sequence[tuple[str, str]]) -> list[Evaluation]:
        """Evaluate (design text, path) pairs in one batch (memoised by text), recording each."""
        todo = list(dict.fromkeys(t for t, _ in items if t not in self._memo))
        if todo:
            start = time.monotonic()
            if self._eval_lock is None:
                self._eval_lock = asyncio.Lock()
            async with self._eval_lock:  # one batch at a time on the shared evaluator
                evs = await asyncio.to_thread(evaluate_many, [(t, self.task) for t in todo],
                                              evaluator=self.evaluator)
            for text, ev in zip(todo, evs, strict=True):
                self._memo[text] = ev
                self.evaluations += 1
                self.simulations += int(bool(ev.details.get("simulated")))
            self.record("step", name="evaluate", count=len(todo), seconds=round(time.monotonic() - start, 4))
        out = []
        for text, path in items:
            ev = self._memo[text]
            self.record("evaluation", path=path, evaluation=ev.to_dict(),
                        simulated=bool(ev.details.get("simulated")), reused=text not in todo)
            self.partial.setdefault(text, DesignRecord(ev.design_text, ev, path))
            out.append(ev)
        return out

    async def with_handle(self, ev: Evaluation) -> Evaluation:
        """``ev`` with its in-process handle (a pool evaluation drops it: re-simulate here, once)."""
        if ev.handle is not None or ev.design_text is None:
            return ev
        fresh = await asyncio.to_thread(self.domain.evaluate_text, ev.design_text, self.task)
        self.simulations += int(bool(fresh.details.get("simulated")))
        for text, old in self._memo.items():
            if old is ev:
                self._memo[text] = fresh
        return fresh

    # --- results -------------------------------------------------------------------------------------
    def result(self, workflow: str, finals: Sequence[DesignRecord], *, completed: bool = True,
               error: dict[str, Any] | None = None) -> WorkflowResult:
        """The ``WorkflowResult`` of the run so far (finals sorted best first, stably)."""
        ranked = sorted(finals, key=lambda d: (-d.reward, not d.evaluation.valid))
        return WorkflowResult(workflow, self.task.id, self.model.name, list(ranked),
                              {r: s for r, s in sorted(self.roles.items())}, self.simulations,
                              self.evaluations, time.monotonic() - self._t0, self.config.to_dict(),
                              list(self.search), completed, error,
                              str(self.transcript.path) if self.transcript.path else None)
