"""Small graphs for the Steiner heuristics and exact methods, and a check that an edge set is a Steiner tree."""

import itertools

import networkx as nx
import numpy as np

from costmodel.grid.heuristics import Graph


def make(n, edges):
    e = np.array(edges, dtype=float)
    return Graph(n, e[:, 0].astype(int), e[:, 1].astype(int), e[:, 2])


def is_steiner_tree(g, edges, terminals):
    h = nx.Graph()
    h.add_edges_from(zip(g.u[edges].tolist(), g.v[edges].tolist()))
    return nx.is_tree(h) and set(terminals) <= set(h.nodes)


def random_connected_edges(rng, n, density, max_weight):
    """Random integer weights on about `density` of all pairs, plus a heavy path so the graph is connected."""
    edges = [(a, b, int(rng.integers(1, max_weight))) for a, b in itertools.combinations(range(n), 2) if rng.random() < density]
    return edges + [(a, a + 1, max_weight) for a in range(n - 1) if not any(e[:2] == (a, a + 1) for e in edges)]


def brute_force_optimum(n, edges, terminals):
    """The cheapest Steiner tree's cost: a minimum spanning tree over every connected superset of the terminals."""
    h = nx.Graph()
    h.add_weighted_edges_from(edges)
    required = set(terminals)
    others = sorted(set(range(n)) - required)
    return min(nx.minimum_spanning_tree(h.subgraph(required | set(extra))).size(weight="weight")
               for k in range(len(others) + 1) for extra in itertools.combinations(others, k)
               if nx.is_connected(h.subgraph(required | set(extra))))
