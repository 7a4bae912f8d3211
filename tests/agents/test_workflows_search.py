"""The model-free search core: MCTS visit order with scripted scores, UCB, best-of-N, random search."""

from __future__ import annotations

import asyncio
import math

import pytest

from brickfield.agents.workflows.search import (
    MCTS,
    BestOfN,
    RandomSearch,
    SearchNode,
    SearchTree,
    arun_search,
    make_search,
    run_search,
    ucb,
)


def scripted(scores: dict[int, list[float]]):
    """expand(node) -> the scripted child scores of that node id (payload: the expanded node's id)."""
    calls: list[int] = []

    def expand(node: SearchNode) -> list[tuple[float, int]]:
        calls.append(node.id)
        return [(s, node.id) for s in scores.get(node.id, [])]

    return expand, calls


def test_ucb_formula_and_unvisited_first() -> None:
    parent = SearchNode(0, None, 0, 0.0, visits=10)
    child = SearchNode(1, 0, 1, 3.0, visits=4, value=8.0)
    assert ucb(child, parent) == pytest.approx(8.0 / 4 + 2 * math.sqrt(math.log(10) / 4))
    assert ucb(child, parent, c=0.5) == pytest.approx(2.0 + 0.5 * math.sqrt(math.log(10) / 4))
    assert ucb(SearchNode(2, 0, 1, 9.0), parent) == math.inf


def test_mcts_visit_order_with_scripted_scores() -> None:
    # root 1.0; root's children score 1, 5, 3, 2; node 2's children 7, 0, 0, 0
    expand, calls = scripted({0: [1.0, 5.0, 3.0, 2.0], 2: [7.0, 0.0, 0.0, 0.0]})
    tree = SearchTree(1.0)
    best = run_search(MCTS(iterations=5, candidates=4), tree, expand)
    trace = [(r["selected"], r["expand"], r["backed_up"]["node"]) for r in tree.trace]
    # it 0: the root has no children -> expand it, back up the first child (node 1, score 1)
    # it 1-3: unvisited children first, in order: nodes 2, 3, 4 are only visited (no expansion)
    # it 4: every child visited once, root N = 4: UCB = score + 2*sqrt(ln 4) -> node 2 (score 5)
    #       is a visited leaf -> expanded; its first child (node 5, score 7) is backed up
    assert trace == [(0, True, 1), (2, False, 2), (3, False, 3), (4, False, 4), (2, True, 5)]
    assert calls == [0, 2]
    assert [n.visits for n in tree.nodes] == [5, 1, 2, 1, 1, 1, 0, 0, 0]
    assert tree[0].value == pytest.approx(1 + 5 + 3 + 2 + 7)
    assert tree[2].value == pytest.approx(5 + 7)
    assert best.id == 5 and best.score == 7.0  # best visited node


def test_mcts_exploration_term_changes_the_choice() -> None:
    # children of the root score 4 and 3.9; node 1's one child scores 4
    expand, _ = scripted({0: [4.0, 3.9], 1: [4.0]})
    tree = SearchTree(0.0)
    run_search(MCTS(iterations=4, candidates=2), tree, expand)
    # it0 expand root (backup node1=4), it1 visit node2 (3.9), it2 UCB: node1 4+2*sqrt(ln2/1) vs node2
    # 3.9+2*sqrt(ln2/1): node1 wins, visited leaf -> expanded, child node3 (4.0) backed up;
    # it3: root N=3; node1 Q/N=4, N=2 -> 4+2*sqrt(ln3/2)=5.48; node2 3.9+2*sqrt(ln3)=5.996 -> node2
    assert [r["selected"] for r in tree.trace] == [0, 2, 1, 2]
    assert [r["expand"] for r in tree.trace] == [True, False, True, True]


def test_mcts_best_is_among_visited_nodes_only() -> None:
    expand, _ = scripted({0: [1.0, 2.0, 3.0, 99.0]})
    tree = SearchTree(0.5)
    best = run_search(MCTS(iterations=2), tree, expand)  # visits node 1 (expansion) and node 2
    assert tree[4].visits == 0 and tree[4].score == 99.0
    assert best.id == 2


def test_mcts_empty_expansion_backs_up_the_node_itself() -> None:
    expand, calls = scripted({})
    tree = SearchTree(2.0)
    best = run_search(MCTS(iterations=3), tree, expand)
    assert calls == [0, 0, 0] and tree.root.visits == 3 and tree.root.value == pytest.approx(6.0)
    assert best.id == 0


def test_best_of_n_expands_the_best_of_the_deepest_level() -> None:
    expand, calls = scripted({0: [1.0, 5.0, 3.0, 2.0], 2: [0.5, 4.0, 4.0, 1.0], 6: [9.0, 0, 0, 0]})
    tree = SearchTree(0.0)
    best = run_search(BestOfN(iterations=3), tree, expand)
    # root -> best of {1..4} is node 2 -> best of {5..8} is node 6 (first of the 4.0 tie)
    assert calls == [0, 2, 6]
    assert best.score == 9.0 and best.depth == 3


def test_best_of_n_keeps_the_best_node_overall() -> None:
    expand, _ = scripted({0: [8.0, 1.0], 1: [2.0, 3.0], 4: [0.0, 0.0]})
    tree = SearchTree(0.0)
    best = run_search(BestOfN(iterations=3, candidates=2), tree, expand)
    assert best.id == 1 and best.score == 8.0


def test_random_search_with_one_candidate_is_a_chain_from_the_latest_node() -> None:
    expand, calls = scripted({i: [float(10 - i)] for i in range(6)})
    tree = SearchTree(0.0)
    best = run_search(RandomSearch(iterations=5), tree, expand)
    assert calls == [0, 1, 2, 3, 4]
    assert [n.depth for n in tree.nodes] == [0, 1, 2, 3, 4, 5]
    assert best.id == 1  # score 10, the best anywhere in the chain


def test_random_search_is_seeded() -> None:
    def run(seed: int) -> list[int]:
        expand, calls = scripted({i: [1.0, 2.0, 3.0] for i in range(40)})
        run_search(RandomSearch(iterations=4, candidates=3, seed=seed), SearchTree(0.0), expand)
        return calls

    assert run(3) == run(3)
    assert len({tuple(run(s)) for s in range(8)}) > 1


def test_async_driver_matches_the_sync_one() -> None:
    scores = {0: [1.0, 5.0, 3.0, 2.0], 2: [7.0, 0.0, 0.0, 0.0]}
    expand, _ = scripted(scores)
    sync_tree = SearchTree(1.0)
    run_search(MCTS(), sync_tree, expand)

    async def aexpand(node: SearchNode):
        return [(s, node.id) for s in scores.get(node.id, [])]

    async_tree = SearchTree(1.0)
    seen: list[int] = []
    asyncio.run(arun_search(MCTS(), async_tree, aexpand, on_iteration=lambda r: seen.append(r["selected"])))
    assert async_tree.to_dict() == sync_tree.to_dict()
    assert seen == [0, 2, 3, 4, 2]


def test_make_search() -> None:
    assert isinstance(make_search("mcts"), MCTS) and make_search("MCTS").candidates == 4
    assert isinstance(make_search("best-of-n"), BestOfN) and isinstance(make_search("bon"), BestOfN)
    assert make_search("random").candidates == 1 and make_search("random", candidates=4).candidates == 4
    assert make_search("mcts", iterations=10, c=1.0).to_dict() == {"name": "mcts", "iterations": 10,
                                                                  "candidates": 4, "c": 1.0}
    for bad in ({"name": "beam"}, {"name": "mcts", "iterations": -1}, {"name": "mcts", "candidates": 0}):
        with pytest.raises(ValueError):
            make_search(**bad)


def test_tree_records_round_trip_to_json() -> None:
    import json

    expand, _ = scripted({0: [1.0, 2.0]})
    tree = SearchTree(0.0, "root")
    run_search(MCTS(iterations=2, candidates=2), tree, expand)
    d = json.loads(json.dumps(tree.to_dict()))
    assert [n["id"] for n in d["nodes"]] == [0, 1, 2] and len(d["trace"]) == 2
    assert tree.ancestry(tree[2]) == [tree[2], tree[0]]
