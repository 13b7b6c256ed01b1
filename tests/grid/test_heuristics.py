import numpy as np
import pytest

from costmodel.grid.heuristics import (
    _insertion_pass, _key_path_pass, _key_vertex_pass, improve, mst_prune, prune, shortest_path_tree, steiner_heuristic,
)
from tests.grid.steiner_support import brute_force_optimum, is_steiner_tree, make, random_connected_edges


# star: terminals 0, 1, 2 pairwise 4 apart, centre 3 at 2.5 from each (7.5 < 8)
STAR = [(0, 1, 4), (1, 2, 4), (0, 2, 4), (0, 3, 2.5), (1, 3, 2.5), (2, 3, 2.5)]


def test_shortest_path_tree_on_a_path():
    g = make(4, [(0, 1, 1), (1, 2, 2), (2, 3, 3)])
    tree = shortest_path_tree(g, np.array([0, 3]), 0)
    assert tree.tolist() == [0, 1, 2] and g.cost(tree) == 6


def test_star_centre_pays_off():
    g = make(4, STAR)
    tree = steiner_heuristic(g, np.array([0, 1, 2]))
    assert g.cost(tree) == 7.5
    assert is_steiner_tree(g, tree, [0, 1, 2])


def test_insertion_finds_the_star_centre_from_a_terminal_only_tree():
    g = make(4, STAR)
    start = np.array([0, 1])  # 0-1 and 1-2: cost 8
    better = improve(g, start, np.array([0, 1, 2]))
    assert g.cost(better) == 7.5


def test_key_path_exchange_replaces_an_expensive_path():
    # terminals 0 and 1; given tree 0-2-1 costs 10, the direct edge costs 3
    g = make(3, [(0, 2, 5), (2, 1, 5), (0, 1, 3)])
    better = improve(g, np.array([0, 1]), np.array([0, 1]))
    assert better.tolist() == [2]


def test_improve_stops_at_its_deadline():
    # the exchange above, with a deadline already past: the given tree comes back untouched
    g = make(3, [(0, 2, 5), (2, 1, 5), (0, 1, 3)])
    assert improve(g, np.array([0, 1]), np.array([0, 1]), deadline=0.0).tolist() == [0, 1]


# terminals 0, 1, 2 hang off Steiner node 3 by edges of 10 (tree cost 30); hub 7 reaches each
# terminal over a middle node (0-4-7, 1-5-7, 2-6-7, each 5 + 4 = 9): cost 27, the optimum
# (any tree through 3 costs >= 30: two spokes of 10 plus >= 9 for the third terminal).
HUB = [(0, 3, 10), (1, 3, 10), (2, 3, 10), (0, 4, 5), (4, 7, 4), (1, 5, 5), (5, 7, 4), (2, 6, 5), (6, 7, 4)]


def test_key_vertex_elimination_swaps_the_steiner_node_for_a_cheaper_hub():
    g = make(8, HUB)
    terms = np.array([0, 1, 2])
    start = np.array([0, 1, 2])  # 0-3, 1-3, 2-3
    # neither older move helps: each spoke (10) is cheaper than a detour over the hub (18), and
    # no node has two tree neighbours to be inserted
    assert not _key_path_pass(g, start, terms)[1] and not _insertion_pass(g, start, terms)[1]
    better, changed = _key_vertex_pass(g, start, terms)
    assert changed and better.tolist() == [3, 4, 5, 6, 7, 8] and g.cost(better) == 27
    assert g.cost(improve(g, start, terms)) == 27
    assert brute_force_optimum(8, HUB, [0, 1, 2]) == 27


def test_prune_and_mst_prune_drop_non_terminal_leaves():
    g = make(4, [(0, 1, 1), (1, 2, 1), (2, 3, 1)])
    assert prune(g, np.array([0, 1, 2]), np.array([0, 1])).tolist() == [0]
    assert mst_prune(g, np.array([0, 1, 2, 3]), np.array([0, 2])).tolist() == [0, 1]
    assert mst_prune(g, np.array([0, 3]), np.array([0, 3])) is None  # induced subgraph disconnected


@pytest.mark.parametrize("seed", range(10))
def test_heuristic_gives_a_tree_no_cheaper_than_the_optimum(seed):
    rng = np.random.default_rng(100 + seed)
    n = 8
    edges = random_connected_edges(rng, n, density=0.5, max_weight=9)
    g = make(n, edges)
    terminals = np.sort(rng.choice(n, size=4, replace=False))
    tree = steiner_heuristic(g, terminals)
    assert is_steiner_tree(g, tree, terminals.tolist())
    optimum = brute_force_optimum(n, edges, terminals.tolist())
    assert g.cost(tree) >= optimum
    assert g.cost(tree) <= 2 * optimum  # the shortest-path heuristic is a 2-approximation


def test_a_rooted_tree_splits_at_a_key_path_either_way():
    from costmodel.grid.heuristics import _RootedTree, _key_nodes

    # tree 0-1, 1-2, 2-3, 1-4 rooted at 0; removing the path 1-2-3 leaves {0, 1, 4} and {3}
    g = make(5, [(0, 1, 1), (1, 2, 1), (2, 3, 1), (1, 4, 1)])
    adj, _, _ = _key_nodes(g, np.array([0, 1, 2, 3]), np.array([0, 3, 4]))
    tree = _RootedTree(adj, 0)
    down = tree.split(1, 2, 3, 2)           # from 1 down to 3
    up = tree.split(3, 2, 1, 2)             # from 3 up to 1
    assert [sorted(part.tolist()) for part in down] == [[0, 1, 4], [3]]
    assert [sorted(part.tolist()) for part in up] == [[3], [0, 1, 4]]
    assert sorted(tree.subtree(1).tolist()) == [1, 2, 3, 4]


def test_mst_prune_gives_up_only_when_even_the_pruned_tree_is_no_cheaper():
    g = make(4, STAR)
    # all four nodes, terminals 0, 1, 2: the star (7.5) has no leaf to prune
    assert g.cost(mst_prune(g, np.arange(4), np.array([0, 1, 2]), unless_above=8)) == 7.5
    assert mst_prune(g, np.arange(4), np.array([0, 1, 2]), unless_above=7.5) is None
    # terminals 0, 1 only: the MST (7.5) is above 6, but pruning the leaf 2 leaves 0-3-1 (5), below it
    assert g.cost(mst_prune(g, np.arange(4), np.array([0, 1]), unless_above=6)) == 5
    assert mst_prune(g, np.arange(4), np.array([0, 1]), unless_above=5) is None
