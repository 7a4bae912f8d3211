"""Iterative editing (paper §4.2, App. C): designer -> inspector -> refiner, then a search whose
nodes are one environment-querier + refiner step each.

1. The designer writes a machine (retried until statically valid, 1 + retries attempts).
2. The inspector reviews it without simulation, from the tree and its 3D information.
3. The refiner polishes it once: ``blind_candidates`` (4) parallel edit scripts in rounds, the first
   one that applies wins (the design is kept when none does).
4. The result is simulated and becomes the root of the search. Expanding a node: the environment
   querier reads the machine and its feedback and asks for per-block measurements, answered from the
   node's simulation; the refiner then writes ``candidates`` edit scripts (each retried up to
   ``retries`` times, seeing its failed attempts) and the new machines are simulated in one batch.
   A candidate that never applies is replaced by the parent's machine (paper App. C), so statistics
   do not thin out. MCTS, best-of-N or random search pick the nodes (``search``); the best node is
   the result.

The querier runs once per expansion (when the node's feedback is needed), not once per simulated
node as the reference code does: the feedback of a node that is never expanded is never read.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from brickfield.agents.workflows.context import RunContext, gather
from brickfield.agents.workflows.design import Draft
from brickfield.agents.workflows.results import DesignRecord
from brickfield.agents.workflows.search import Expansion, SearchNode, SearchStrategy, SearchTree, arun_search
from brickfield.agents.workflows.steps import (
    Refinement,
    design_step,
    feedback_for,
    inspect_step,
    query_step,
    refine_rounds,
)
from brickfield.core import Evaluation

__all__ = ["NodeData", "iterative_editing"]


@dataclass
class NodeData:
    """A search node's machine: draft, evaluation, the edits that made it from its parent, whether it
    is a copy of the parent (``padded``), and the lineage of edits from the root (for the history)."""

    draft: Draft
    evaluation: Evaluation
    path: str
    edits: str | None = None
    padded: bool = False
    lineage: list[str] = field(default_factory=list)

    @property
    def score(self) -> float:
        """The reward (0 for an evaluator error)."""
        return float(self.evaluation.reward or 0.0)


async def iterative_editing(ctx: RunContext, search: SearchStrategy, *, drafts: int = 1,
                            blind_candidates: int = 4, pad_with_parent: bool = True) -> list[DesignRecord]:
    """Run the workflow for ``drafts`` independent designer drafts (concurrently); one final design
    per draft (its search winner)."""
    runs = [_one_draft(ctx, copy.deepcopy(search), f"iter/d{i}", blind_candidates, pad_with_parent)
            for i in range(drafts)]
    return await gather(*runs)


async def _one_draft(ctx: RunContext, search: SearchStrategy, path: str, blind_candidates: int,
                     pad: bool) -> DesignRecord:
    with ctx.timed("designer", f"{path}/designer"):
        draft, answer = await design_step(ctx, "designer", f"{path}/designer")
    if draft is None:  # nothing readable after every retry: the last answer is the result
        [ev] = await ctx.evaluate([(answer, f"{path}/designer")])
        return DesignRecord(ev.design_text, ev, f"{path}/designer")
    inspection = None
    if ctx.ablations.inspector:
        with ctx.timed("inspector", f"{path}/inspector"):
            inspection = await inspect_step(ctx, draft, f"{path}/inspector")
    with ctx.timed("blind_refiner", f"{path}/refiner"):
        slots = await refine_rounds(ctx, draft, Refinement(inspection=inspection), blind_candidates,
                                    f"{path}/refiner", need_all=False)
    chosen = next((s for s in slots if s.draft is not None), None)
    root = chosen.draft if chosen is not None and chosen.draft is not None else draft
    [root_ev] = await ctx.evaluate([(root.text, f"{path}/node0")])
    data = NodeData(root, root_ev, f"{path}/node0", chosen.edits if chosen else None)
    tree = SearchTree(data.score, data)

    async def expand(node: SearchNode) -> Expansion:
        with ctx.timed("expand", f"{path}/node{node.id}"):
            return await _expand(ctx, tree, node, search.candidates, path, pad)

    def on_iteration(record: dict) -> None:
        ctx.record("search", path=path, strategy=search.name, **record)

    best = await arun_search(search, tree, expand, on_iteration=on_iteration)
    summary = tree.to_dict()
    for node, rec in zip(tree.nodes, summary["nodes"], strict=True):
        rec.update(path=node.payload.path, padded=node.payload.padded, status=node.payload.evaluation.status)
    ctx.search.append({"path": path, "strategy": search.to_dict(), "best": best.id, **summary})
    ctx.record("step", name="search", path=path, best=best.id, nodes=len(tree), score=best.score)
    won: NodeData = best.payload
    return DesignRecord(won.draft.text, won.evaluation, won.path)


async def _expand(ctx: RunContext, tree: SearchTree, node: SearchNode, k: int, path: str,
                  pad: bool) -> Expansion:
    data: NodeData = node.payload
    npath = f"{path}/node{node.id}"
    ev = await ctx.with_handle(data.evaluation)
    feedback = feedback_for(ctx, ev)
    answer = None
    if ctx.ablations.uses_querier:
        answer = await query_step(ctx, data.draft, ev, feedback, f"{npath}/querier")
    ctx.record("feedback", path=npath, text=feedback, query_answer=answer)
    ref = Refinement(score=f"{data.score:.3f} ({ev.status})", feedback=feedback, query_answer=answer,
                     lineage=data.lineage)
    slots = await refine_rounds(ctx, data.draft, ref, k, f"{npath}/refiner", need_all=True)
    first_id = len(tree)
    made = [s for s in slots if s.draft is not None]
    evs = await ctx.evaluate([(s.draft.text, f"{npath}/refiner/cand{s.index}")  # type: ignore[union-attr]
                              for s in made])
    by_slot = dict(zip((s.index for s in made), evs, strict=True))
    out: list[tuple[float, NodeData]] = []
    for s in slots:
        cpath = f"{path}/node{first_id + len(out)}"
        if s.draft is not None:
            child = NodeData(s.draft, by_slot[s.index], cpath, s.edits)
            steps = "; ".join(ln.strip() for ln in (s.edits or "").splitlines() if ln.strip())
            child.lineage = [*data.lineage, f"- score {data.score:.3f} -> {child.score:.3f}: {steps}"]
        elif pad:
            child = NodeData(data.draft, data.evaluation, cpath, None, True, list(data.lineage))
        else:
            continue
        out.append((child.score, child))
    return out
