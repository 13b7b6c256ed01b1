"""Exact Steiner tree by the Dreyfus–Wagner dynamic programme, for instances with few terminals.

dp[S][v] is the cost of a cheapest tree joining the terminal set S and the node v. Singletons are
shortest-path distances; a larger S first merges two complementary parts at a node u
(dp[S1][u] + dp[S \\ S1][u]) and then moves the merge point along a shortest path to v. The
optimum is dp[all terminals but the root][root]. Time O(3^k n + 2^k n^2) and memory O(2^k n) for
k terminals besides the root, so ``fits`` decides whether it is worth it; the LP-based solver
handles the rest.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.sparse.csgraph import dijkstra

from costmodel.grid import heuristics as heur

# work limits: 2^k n^2 for the path-moving step, 3^k n for the merges (elementary numpy operations);
# instance069 (11 terminals besides the root, 64 nodes) needs 9e6 and 1e7 and takes about 0.2 s
_MAX_MOVE_WORK = 2e8
_MAX_MERGE_WORK = 1e8


def fits(n_nodes: int, n_terminals: int) -> bool:
    """Whether the programme is cheap enough for ``n_terminals`` (root included) on ``n_nodes``."""
    k = max(n_terminals - 1, 0)
    # in logarithms: 2.0**k overflows a float beyond 1,023 terminals (instance191 of Track 2 keeps 1,3xx)
    return (k * math.log(2) + 2 * math.log(max(n_nodes, 1)) <= math.log(_MAX_MOVE_WORK)
            and k * math.log(3) + math.log(max(n_nodes, 1)) <= math.log(_MAX_MERGE_WORK))


def dreyfus_wagner(g: heur.Graph, terminals: np.ndarray, root: int) -> np.ndarray:
    """Edge indices of a minimum Steiner tree of ``g`` spanning ``terminals`` (``root`` among them)."""
    others = [int(t) for t in terminals if int(t) != root]
    k = len(others)
    if k == 0:
        return np.array([], dtype=np.int64)
    dist, pred = dijkstra(g.csr, directed=False, return_predecessors=True)
    n, full = g.n, (1 << k) - 1
    dp = np.full((full + 1, n), np.inf)
    move_from = np.zeros((full + 1, n), dtype=np.int32)  # node u whose merge dp[S] reaches v from
    split = np.zeros((full + 1, n), dtype=np.int32)  # S1 of the best merge at u
    for i, t in enumerate(others):
        dp[1 << i] = dist[t]
        move_from[1 << i] = t
    columns = np.arange(n)
    for s in range(1, full + 1):
        if s & (s - 1) == 0:
            continue  # singleton, set above
        low = s & -s
        subs, sub = [], (s - 1) & s
        while sub:
            if sub & low:  # each unordered split once
                subs.append(sub)
            sub = (sub - 1) & s
        parts = np.array(subs)
        merged = dp[parts] + dp[s ^ parts]
        best = merged.argmin(axis=0)
        merged_min = merged[best, columns]
        split[s] = parts[best]
        moved = merged_min[:, None] + dist
        move_from[s] = moved.argmin(axis=0)
        dp[s] = moved[move_from[s], columns]
    edges: list[int] = []
    stack = [(full, root)]
    while stack:
        s, v = stack.pop()
        u = int(move_from[s, v])
        x = v
        while x != u:
            p = int(pred[u, x])
            edges.append(g.edge(p, x))
            x = p
        if s & (s - 1):
            s1 = int(split[s, u])
            stack += [(s1, u), (s ^ s1, u)]
    # the union of the paths costs at most dp; MST and pruning remove any overlap or cycle
    nodes = np.unique(np.r_[g.u[edges], g.v[edges], terminals]).astype(np.int64)
    tree = heur.mst_prune(g, nodes, terminals)
    return tree if tree is not None else np.unique(np.array(edges, dtype=np.int64))
