"""Single agent (paper §4.2): one call that reasons, then writes the construction tree; evaluated
through the contract. ``samples`` independent calls give that many final designs."""

from __future__ import annotations

from brickfield.agents.workflows.context import RunContext, gather
from brickfield.agents.workflows.design import read_design
from brickfield.agents.workflows.results import DesignRecord
from brickfield.agents.workflows.steps import messages_for

__all__ = ["single_agent"]


async def _one(ctx: RunContext, path: str) -> tuple[str, str]:
    """(text to evaluate, path): the canonical tree when one was read, else the raw answer (which
    the domain then grades as unparseable or invalid, with its reasons)."""
    answer = await ctx.chat("single_agent", messages_for(ctx, "single_agent"), path) or ""
    draft, errors = read_design(answer, ctx.task, global_position=ctx.ablations.global_position)
    if draft is None:
        ctx.malformed("single_agent", path, "tree", errors)
        return answer, path
    ctx.record("parse", role="single_agent", path=path, kind="tree", ok=draft.valid, design=draft.text,
               errors=list(draft.errors))
    return draft.text, path


async def single_agent(ctx: RunContext, *, samples: int = 1) -> list[DesignRecord]:
    """``samples`` one-shot designs (concurrent calls), evaluated in one batch."""
    with ctx.timed("single_agent", "single"):
        items = await gather(*(_one(ctx, f"single/s{i}") for i in range(samples)))
    evs = await ctx.evaluate(items)
    return [DesignRecord(ev.design_text, ev, path) for ev, (_, path) in zip(evs, items, strict=True)]
