"""One step per agent role, each with the paper's retry budget and a fallback, so malformed output
never ends a run: designer / single agent / builder (a machine), inspector (an issues list),
environment querier (a request answered from the simulation), refiner (edit scripts, in rounds of
parallel candidates), meta-designer (a blueprint).

Every call has a *path* (``iter/d0/node3/cand1/try0``) that names it in the transcript and seeds it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from brickfield.agents.prompts import (
    Blueprint,
    BlueprintError,
    FunctionalBlock,
    answer_block,
    parse_blueprint,
)
from brickfield.agents.workflows.context import RunContext, gather
from brickfield.agents.workflows.design import (
    GLOBAL_FORMAT_NOTE,
    NOT_PROVIDED,
    Draft,
    apply_refinement,
    read_design,
)
from brickfield.core import Evaluation
from brickfield.machines.tasks import allowed_block_types

__all__ = [
    "Refinement",
    "SlotState",
    "build_step",
    "design_step",
    "feedback_for",
    "inspect_step",
    "messages_for",
    "meta_design_step",
    "query_step",
    "refine_rounds",
]

_NOTES_ROLES = ("designer", "single_agent", "meta_designer")


def messages_for(ctx: RunContext, role: str, **fields: Any) -> list[dict[str, str]]:
    """The chat messages of ``role`` with this run's notes and representation."""
    if role in _NOTES_ROLES and ctx.config.notes:
        fields["notes"] = ctx.config.notes
    prompt = ctx.render(role, **fields)
    messages = prompt.messages
    if ctx.ablations.global_position and role != "meta_designer":
        messages[0] = {"role": "system", "content": messages[0]["content"] + "\n\n" + GLOBAL_FORMAT_NOTE}
    return messages


def machine_fields(ctx: RunContext, draft: Draft) -> dict[str, str]:
    """``machine`` and ``info3d`` of a draft as this run shows them."""
    return {"machine": draft.shown(ctx.ablations.global_position),
            "info3d": draft.info3d if ctx.ablations.info3d else NOT_PROVIDED}


# --- machines from scratch -------------------------------------------------------------------------

async def design_step(ctx: RunContext, role: str, path: str, **fields: Any) -> tuple[Draft | None, str]:
    """Ask ``role`` (designer, builder) for a machine until one is statically valid (1 + retries
    attempts, fresh samples). Returns the first valid draft, else the last readable one, else None,
    and the last answer."""
    messages = messages_for(ctx, role, **fields)
    fallback: Draft | None = None
    answer = ""
    for attempt in range(ctx.config.retries + 1):
        p = f"{path}/try{attempt}"
        answer = await ctx.chat(role, messages, p) or ""
        draft, errors = read_design(answer, ctx.task, global_position=ctx.ablations.global_position)
        if draft is None:
            ctx.malformed(role, p, "tree", errors)
            continue
        if draft.valid:
            ctx.record("parse", role=role, path=p, kind="tree", ok=True, design=draft.text)
            return draft, answer
        ctx.malformed(role, p, "tree", draft.errors, design=draft.text)
        fallback = draft
    return fallback, answer


async def build_step(ctx: RunContext, blueprint: Blueprint, stage: FunctionalBlock, source: Draft,
                     path: str) -> Draft | None:
    """One builder: one attempt (the stage retries whole rounds, as the paper's builders do)."""
    messages = messages_for(ctx, "builder", blueprint=blueprint.to_text(), stage=stage.to_text(),
                            **machine_fields(ctx, source))
    answer = await ctx.chat("builder", messages, path) or ""
    draft, errors = read_design(answer, ctx.task, global_position=ctx.ablations.global_position)
    if draft is None or not draft.valid:
        ctx.malformed("builder", path, "tree", errors or list(draft.errors if draft else ()),
                      design=draft.text if draft else None)
        return None
    ctx.record("parse", role="builder", path=path, kind="tree", ok=True, design=draft.text)
    return draft


async def meta_design_step(ctx: RunContext, path: str) -> Blueprint:
    """The meta-designer's blueprint (1 + retries attempts); after that a one-stage blueprint (the
    whole machine), so the builders still run."""
    messages = messages_for(ctx, "meta_designer")
    allowed = allowed_block_types(ctx.task)
    for attempt in range(ctx.config.retries + 1):
        p = f"{path}/try{attempt}"
        answer = await ctx.chat("meta_designer", messages, p)
        try:
            bp = parse_blueprint(answer or "", allowed_blocks=allowed)
        except BlueprintError as exc:
            ctx.malformed("meta_designer", p, "blueprint", [str(i) for i in exc.issues] or [str(exc)])
            continue
        ctx.record("parse", role="meta_designer", path=p, kind="blueprint", ok=True, blueprint=bp.to_dict())
        return bp
    whole = FunctionalBlock("whole machine", "the complete machine for the task", ())
    bp = Blueprint("machine", (), (whole,), (whole.name,))
    ctx.record("parse", role="meta_designer", path=path, kind="blueprint", ok=False, fallback=bp.to_dict())
    return bp


# --- review and feedback ---------------------------------------------------------------------------

async def inspect_step(ctx: RunContext, draft: Draft, path: str) -> str | None:
    """The inspector's report: the body of its ```issues block, the summary the refiner gets, as in
    the reference (1 + retries attempts); after that the last non-empty answer as it is, else None."""
    messages = messages_for(ctx, "inspector", **machine_fields(ctx, draft))
    last = None
    for attempt in range(ctx.config.retries + 1):
        p = f"{path}/try{attempt}"
        answer = await ctx.chat("inspector", messages, p)
        issues = answer_block(answer, "issues") if answer else None
        if issues is not None:
            ctx.record("parse", role="inspector", path=p, kind="issues", ok=True, issues=issues)
            return issues
        ctx.malformed("inspector", p, "issues", ["no ```issues block" if answer else "empty answer"])
        last = answer.strip() if answer and answer.strip() else last
    return last


async def query_step(ctx: RunContext, draft: Draft, ev: Evaluation, feedback: str, path: str) -> str | None:
    """Ask the querier what to measure and answer it from the simulation (1 + retries attempts; a
    request that cannot be answered is retried). None when the machine was not simulated or no
    request could be answered."""
    from brickfield.machines.feedback.querier import QueryError, answer_query

    ev = await ctx.with_handle(ev)
    if getattr(ev.handle, "episode", None) is None:
        return None
    messages = messages_for(ctx, "querier", feedback=feedback, **machine_fields(ctx, draft))
    for attempt in range(ctx.config.retries + 1):
        p = f"{path}/try{attempt}"
        answer = await ctx.chat("querier", messages, p)
        if not answer:
            ctx.malformed("querier", p, "query", ["empty answer"])
            continue
        body = answer_block(answer, "query")
        try:
            reply = answer_query(body if body is not None else answer, ev.handle, clip=True)
        except QueryError as exc:
            ctx.malformed("querier", p, "query", [str(i) for i in exc.issues] or [str(exc)])
            continue
        ctx.record("query", role="querier", path=p, request=body if body is not None else answer,
                   answer=reply.text)
        return reply.text
    return None


def feedback_for(ctx: RunContext, ev: Evaluation) -> str:
    """The fixed environment feedback the refiner (and querier) read: the full feedback, or the
    score alone in the score-only ablation."""
    level = "score" if ctx.ablations.score_only_feedback else "full"
    try:
        return ctx.domain.feedback(ev, level, ctx.task).text
    except (ValueError, TypeError) as exc:  # a stored evaluation without a design
        return f"status {ev.status}, reward {ev.reward} ({exc})"


# --- refinement ------------------------------------------------------------------------------------

@dataclass
class SlotState:
    """One refinement candidate across retry rounds: its failed attempts (the edit history it is
    shown) and its outcome."""

    index: int
    failures: list[str] = field(default_factory=list)
    draft: Draft | None = None
    edits: str | None = None
    prediction: str | None = None


@dataclass
class Refinement:
    """What the refiner is given besides the machine: ``score``, ``inspection``, ``feedback``,
    ``query_answer`` and ``lineage`` (the edits that led to the machine, for the history)."""

    score: str | None = None
    inspection: str | None = None
    feedback: str | None = None
    query_answer: str | None = None
    lineage: list[str] = field(default_factory=list)


def _history(ctx: RunContext, ref: Refinement, slot: SlotState) -> str | None:
    if not ctx.ablations.edit_history or not (ref.lineage or slot.failures):
        return None
    parts = []
    if ref.lineage:
        parts.append("Edits that led to this machine, oldest first:\n" + "\n".join(ref.lineage))
    if slot.failures:
        parts.append("Your earlier attempts on this machine failed; do not repeat them:\n"
                     + "\n".join(slot.failures))
    return "\n\n".join(parts)


async def _refine_once(ctx: RunContext, draft: Draft, ref: Refinement, slot: SlotState, path: str) -> None:
    fields = {**machine_fields(ctx, draft), "score": ref.score, "inspection": ref.inspection,
              "feedback": ref.feedback, "query_answer": ref.query_answer, "history": _history(ctx, ref, slot)}
    answer = await ctx.chat("refiner", messages_for(ctx, "refiner", **fields), path) or ""
    new, result, errors = apply_refinement(draft, answer, ctx.task)
    if new is None:
        report = result.report() if result is not None else "; ".join(errors)
        slot.failures.append(f"attempt {len(slot.failures) + 1}:\n{report}\n-> {'; '.join(errors)}")
        ctx.malformed("refiner", path, "edits", errors, edits=result.to_dict() if result else None)
        return
    assert result is not None  # a new draft comes from applied edits
    body = answer_block(answer, "edits")
    slot.draft = new
    slot.edits = body if body is not None else "\n".join(s.text for s in result.steps)
    slot.prediction = answer_block(answer, "prediction")
    ctx.record("parse", role="refiner", path=path, kind="edits", ok=True, edits=result.to_dict(),
               design=new.text)


async def refine_rounds(ctx: RunContext, draft: Draft, ref: Refinement, k: int, path: str, *,
                        need_all: bool) -> list[SlotState]:
    """``k`` refinement candidates of ``draft`` in rounds (1 + retries): each round asks every
    unfinished slot once, concurrently. ``need_all=False`` stops at the first round with a success
    (the blind refinement), ``need_all=True`` when every slot has succeeded (search expansions)."""
    slots = [SlotState(i) for i in range(k)]
    for attempt in range(ctx.config.retries + 1):
        todo = [s for s in slots if s.draft is None]
        await gather(*(_refine_once(ctx, draft, ref, s, f"{path}/cand{s.index}/try{attempt}")
                       for s in todo))
        done = [s for s in slots if s.draft is not None]
        if (done and not need_all) or len(done) == k:
            break
    return slots
