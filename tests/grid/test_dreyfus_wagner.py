import itertools

import networkx as nx
import numpy as np
import pytest

from costmodel.grid.dreyfus_wagner import dreyfus_wagner, fits
from costmodel.grid.heuristics import Graph


def make(n, edges):
    e = np.array(edges, dtype=float)
    return Graph(n, e[:, 0].astype(int), e[:, 1].astype(int), e[:, 2])


def is_steiner_tree(g, edges, terminals):
    h = nx.Graph()
    h.add_edges_from(zip(g.u[edges].tolist(), g.v[edges].tolist()))
    return nx.is_tree(h) and set(terminals) <= set(h.nodes)


def test_star_centre_is_used():
    # terminals 0, 1, 2 pairwise 4 apart, centre 3 at 2.5 from each: 7.5 < 8
    g = make(4, [(0, 1, 4), (1, 2, 4), (0, 2, 4), (0, 3, 2.5), (1, 3, 2.5), (2, 3, 2.5)])
    tree = dreyfus_wagner(g, np.array([0, 1, 2]), 0)
    assert tree.tolist() == [3, 4, 5] and g.cost(tree) == 7.5


def test_two_steiner_nodes_on_a_ladder():
    # terminals 0, 1 (left) and 4, 5 (right); rungs 0-2, 1-2 and 3-4, 3-5 cost 1, bridge 2-3 costs 3:
    # 1 + 1 + 3 + 1 + 1 = 7, while the direct terminal edges 0-1, 4-5 (3 each) plus 1-4 (6) cost 12
    g = make(6, [(0, 2, 1), (1, 2, 1), (2, 3, 3), (3, 4, 1), (3, 5, 1), (0, 1, 3), (4, 5, 3), (1, 4, 6)])
    tree = dreyfus_wagner(g, np.array([0, 1, 4, 5]), 4)
    assert tree.tolist() == [0, 1, 2, 3, 4] and g.cost(tree) == 7


def test_only_the_root_needs_no_edge():
    assert dreyfus_wagner(make(2, [(0, 1, 5)]), np.array([1]), 1).tolist() == []


@pytest.mark.parametrize("seed", range(8))
def test_random_graphs_match_brute_force(seed):
    rng = np.random.default_rng(100 + seed)
    n = 9
    edges = [(a, b, int(rng.integers(1, 10))) for a, b in itertools.combinations(range(n), 2) if rng.random() < 0.4]
    edges += [(a, a + 1, 10) for a in range(n - 1) if not any(e[:2] == (a, a + 1) for e in edges)]
    terminals = np.sort(rng.choice(n, size=int(rng.integers(2, 6)), replace=False))
    g = make(n, edges)
    h = nx.Graph()
    h.add_weighted_edges_from(edges)
    others = sorted(set(range(n)) - set(terminals.tolist()))
    best = min(nx.minimum_spanning_tree(h.subgraph(set(terminals.tolist()) | set(extra))).size(weight="weight")
               for k in range(len(others) + 1) for extra in itertools.combinations(others, k)
               if nx.is_connected(h.subgraph(set(terminals.tolist()) | set(extra))))
    tree = dreyfus_wagner(g, terminals, int(terminals[-1]))
    assert is_steiner_tree(g, tree, terminals) and g.cost(tree) == best


def test_fits_grows_with_terminals_and_nodes():
    assert fits(64, 12) and not fits(64, 20) and not fits(5000, 6)
