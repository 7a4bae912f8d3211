"""Hierarchical design (paper §4.2): a meta-designer splits the machine into functional blocks
(a blueprint, typically three or four), then builders construct it block by block.

Stage 1: ``builders`` (8) parallel builders each build the first functional block on the bare
Starting Block. Stage k > 1: the valid designs of stage k - 1 are spread evenly over another
``builders`` builders (builder j extends design j mod #valid), each adding block k. A builder's
answer counts when it is statically valid (file, spatial, allowed blocks; no simulation). A stage
with no valid design at all is run again, up to ``retries`` more times (as the reference's builder
rounds); if it still fails, the run keeps the previous stage's designs. The last stage's designs are
simulated in one batch and returned best first (each distinct machine once).
"""

from __future__ import annotations

from brickfield.agents.prompts import Blueprint, FunctionalBlock
from brickfield.agents.workflows.context import RunContext, gather
from brickfield.agents.workflows.design import Draft, root_draft
from brickfield.agents.workflows.results import DesignRecord
from brickfield.agents.workflows.steps import build_step, meta_design_step

__all__ = ["hierarchical_design"]


async def _stage(ctx: RunContext, bp: Blueprint, stage: FunctionalBlock, k: int, sources: list[Draft],
                 builders: int) -> list[Draft]:
    for attempt in range(ctx.config.retries + 1):
        with ctx.timed("stage", f"hier/stage{k}/try{attempt}", stage=k, part=stage.name, attempt=attempt,
                       builders=builders) as step:
            built = await gather(*(build_step(ctx, bp, stage, sources[j % len(sources)],
                                              f"hier/stage{k}/b{j}/try{attempt}") for j in range(builders)))
            valid = [d for d in built if d is not None]
            step["valid"] = len(valid)
        if valid:
            return valid
    return []


async def hierarchical_design(ctx: RunContext, *, builders: int = 8) -> list[DesignRecord]:
    """Meta-designer, then ``builders`` builders per functional block; every design of the last
    stage reached, evaluated (best first)."""
    with ctx.timed("meta_designer", "hier/meta_designer"):
        bp = await meta_design_step(ctx, "hier/meta_designer")
    sources = [root_draft(ctx.task)]
    reached = 0
    for k, stage in enumerate(bp.stages):
        valid = await _stage(ctx, bp, stage, k, sources, builders)
        if not valid:
            break
        sources, reached = valid, k + 1
    ctx.record("step", name="hierarchical", stages=len(bp.stages), completed_stages=reached,
               designs=len(sources))
    unique = list({d.text: d for d in sources}.values())  # builders that wrote the same machine
    paths = [f"hier/final{i}" for i in range(len(unique))]
    evs = await ctx.evaluate([(d.text, p) for d, p in zip(unique, paths, strict=True)])
    return [DesignRecord(ev.design_text, ev, p) for ev, p in zip(evs, paths, strict=True)]
