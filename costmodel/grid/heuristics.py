"""Steiner tree heuristics: an upper bound and a warm start for the exact model.

- ``shortest_path_tree``: Takahashi & Matsuyama (1980): grow from a root, each time joining the
  terminal nearest to the tree by its shortest path.
- ``mst_prune``: minimum spanning tree of the subgraph induced by a node set, then non-terminal
  leaves removed (never increases cost).
- ``improve``: local search by Steiner-node insertion (add a node next to the tree if the induced
  MST gets cheaper) and key-path exchange (replace a path between key nodes by a cheaper path
  between the two parts of the tree it separates) and key-vertex elimination (drop a Steiner node
  of tree degree >= 3 with its key paths, rejoin the parts by shortest paths; Uchoa & Werneck
  2012). instance187's first tree: 3,400,662 -> 3,400,650 with key-vertex elimination.

Graphs are arrays: n nodes 0..n-1, edge i joins u[i] and v[i] with weight w[i] >= 0, no parallels.
Trees are returned as sorted arrays of edge indices.
"""

from __future__ import annotations

import math
import time

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components, dijkstra, minimum_spanning_tree

_TINY = 1e-9  # stands in for weight 0: sparse matrices drop explicit zeros


class Graph:
    """Undirected graph in CSR form plus an (a, b) -> edge index lookup."""

    def __init__(self, n: int, u: np.ndarray, v: np.ndarray, w: np.ndarray):
        self.n = n
        self.u, self.v, self.w = np.asarray(u), np.asarray(v), np.asarray(w, dtype=float)
        ww = np.where(self.w > 0, self.w, _TINY)
        rows, cols = np.r_[self.u, self.v], np.r_[self.v, self.u]
        self.csr = coo_matrix((np.r_[ww, ww], (rows, cols)), shape=(n, n)).tocsr()
        self._eid = {(a, b): i for i, (a, b) in enumerate(zip(rows.tolist(), cols.tolist()))}
        m = len(self.u)
        self._eid = {k: (i if i < m else i - m) for k, i in self._eid.items()}

    def edge(self, a: int, b: int) -> int:
        return self._eid[(a, b)]

    def cost(self, edges: np.ndarray) -> float:
        return float(self.w[edges].sum())


def shortest_path_tree(g: Graph, terminals: np.ndarray, root: int) -> np.ndarray:
    """Takahashi–Matsuyama shortest-path heuristic from ``root``.

    The distances to the tree are kept and, after each path joins, lowered by a search from the new tree nodes
    only, as far as the farthest terminal still to join (a full search from the whole tree per terminal was
    most of the heuristic's time on Track 2's instances with 1,000+ terminals).
    """
    in_tree = np.zeros(g.n, dtype=bool)
    in_tree[root] = True
    todo = set(int(t) for t in terminals) - {root}
    chosen: list[int] = []
    dist, pred, _ = dijkstra(g.csr, indices=[root], min_only=True, return_predecessors=True)
    while todo:
        cand = np.array(sorted(todo))
        t = int(cand[np.argmin(dist[cand])])
        if not np.isfinite(dist[t]):
            raise ValueError("terminals are not connected")
        x, added = t, []
        while not in_tree[x]:
            p = int(pred[x])
            chosen.append(g.edge(p, x))
            in_tree[x] = True
            added.append(x)
            x = p
        todo -= set(added)
        if not todo:
            break
        dist[added] = 0.0
        reach = float(dist[np.array(sorted(todo))].max())
        if not np.isfinite(reach):
            reach = np.inf
        near, near_pred, _ = dijkstra(g.csr, indices=added, min_only=True, return_predecessors=True, limit=reach)
        closer = near < dist
        dist[closer] = near[closer]
        pred[closer] = near_pred[closer]
    return np.array(sorted(chosen), dtype=np.int64)


def prune(g: Graph, edges: np.ndarray, terminals: np.ndarray) -> np.ndarray:
    """Remove non-terminal leaves until none is left."""
    edges = np.asarray(edges, dtype=np.int64)
    is_term = np.zeros(g.n, dtype=bool)
    is_term[terminals] = True
    return np.sort(edges[_leafless(g.u[edges], g.v[edges], is_term)])


def _leafless(a: np.ndarray, b: np.ndarray, is_term: np.ndarray) -> np.ndarray:
    """Mask of the edges a-b left once non-terminal leaves are removed until none is left."""
    keep = np.ones(len(a), dtype=bool)
    while True:
        degree = np.bincount(np.r_[a[keep], b[keep]], minlength=len(is_term))
        leaf = (degree == 1) & ~is_term
        drop = keep & (leaf[a] | leaf[b])
        if not drop.any():
            return keep
        keep &= ~drop


def mst_prune(g: Graph, nodes: np.ndarray, terminals: np.ndarray, unless_above: float = math.inf) -> np.ndarray | None:
    """MST of the subgraph induced by ``nodes``, pruned; None if that subgraph is disconnected, or if the pruned
    tree costs ``unless_above`` or more (the insertion pass's test: pruned before its edges are looked up, which
    was 5 of that pass's 13 s on instance191, profiled)."""
    nodes = np.unique(nodes)
    sub = g.csr[nodes][:, nodes]
    if connected_components(sub, directed=False)[0] > 1:
        return None
    tree = minimum_spanning_tree(sub).tocoo()
    is_term = np.zeros(g.n, dtype=bool)
    is_term[terminals] = True
    keep = _leafless(tree.row, tree.col, is_term[nodes])
    if tree.data[keep].sum() >= unless_above - 1e-9:
        return None
    edges = np.array([g.edge(int(nodes[a]), int(nodes[b])) for a, b in zip(tree.row[keep], tree.col[keep])],
                     dtype=np.int64)
    return np.sort(edges)


def _tree_nodes(g: Graph, edges: np.ndarray) -> np.ndarray:
    return np.unique(np.r_[g.u[edges], g.v[edges]])


def _insertion_pass(g: Graph, edges: np.ndarray, terminals: np.ndarray,
                    deadline: float = math.inf) -> tuple[np.ndarray, bool]:
    nodes = _tree_nodes(g, edges)
    in_tree = np.zeros(g.n, dtype=bool)
    in_tree[nodes] = True
    # only a node with at least two tree neighbours can shorten the induced MST
    touch = np.bincount(np.r_[g.u[in_tree[g.v]], g.v[in_tree[g.u]]], minlength=g.n)
    best, best_cost, improved = edges, g.cost(edges), False
    for x in np.flatnonzero((touch >= 2) & ~in_tree).tolist():
        if time.perf_counter() > deadline:  # one pass took 7.8 s on instance191
            break
        cand = mst_prune(g, np.r_[_tree_nodes(g, best), x], terminals, unless_above=best_cost)
        if cand is not None and g.cost(cand) < best_cost - 1e-9:
            best, best_cost, improved = cand, g.cost(cand), True
    return best, improved


def _key_nodes(g: Graph, edges: np.ndarray, terminals: np.ndarray) -> tuple[dict[int, list[tuple[int, int]]], set[int], np.ndarray]:
    """The tree's adjacency (node -> [(neighbour, edge)]), its key nodes (terminals and nodes of degree >= 3)
    and a terminal mask."""
    is_term = np.zeros(g.n, dtype=bool)
    is_term[terminals] = True
    adj: dict[int, list[tuple[int, int]]] = {}
    for e in edges.tolist():
        adj.setdefault(int(g.u[e]), []).append((int(g.v[e]), e))
        adj.setdefault(int(g.v[e]), []).append((int(g.u[e]), e))
    return adj, {x for x, nb in adj.items() if is_term[x] or len(nb) >= 3}, is_term


def _key_path(adj: dict[int, list[tuple[int, int]]], is_key: set[int], start: int, nxt: int, e: int) -> tuple[list[int], int]:
    """The edges of the key path leaving key node `start` by edge `e` to `nxt`, and the key node it ends at."""
    path_edges, prev, x = [e], start, nxt
    while x not in is_key:
        (y, f), = [(y, f) for y, f in adj[x] if y != prev]
        path_edges.append(f)
        prev, x = x, y
    return path_edges, x


def _key_path_pass(g: Graph, edges: np.ndarray, terminals: np.ndarray) -> tuple[np.ndarray, bool]:
    """Try to replace each key path by the shortest path between the two parts it joins.

    After a gain the pass goes on with the key nodes after the one it was at, on the new tree (paths already
    tried are not tried again in this pass): starting over after every gain made instance191's heuristic 49
    passes of about 0.18 s, 9 of its 18 s (profiled).
    """
    adj, is_key, _ = _key_nodes(g, edges, terminals)
    if not is_key:
        return edges, False
    tree = _RootedTree(adj, min(is_key))   # a key node as root: every key path runs straight up or down
    seen_paths: set[tuple[int, ...]] = set()
    gained = False
    done_upto = -1
    while True:
        cand = _first_exchange(g, edges, terminals, adj, is_key, tree, seen_paths, done_upto)
        if cand is None:
            return edges, gained
        edges, done_upto, gained = cand[0], cand[1], True
        adj, is_key, _ = _key_nodes(g, edges, terminals)
        tree = _RootedTree(adj, min(is_key))


def _first_exchange(g: Graph, edges: np.ndarray, terminals: np.ndarray, adj, is_key: set[int], tree, seen_paths: set,
                    after: int) -> tuple[np.ndarray, int] | None:
    """The first cheaper tree from exchanging a key path that starts at a key node above ``after``, and that node."""
    for start in sorted(x for x in is_key if x > after):
        for nxt, e in adj[start]:
            path_edges, x = _key_path(adj, is_key, start, nxt, e)
            key = tuple(sorted(path_edges))
            if key in seen_paths:
                continue
            seen_paths.add(key)
            # split the rest of the tree into the side of `start` and the side of `x`
            last = path_edges[-1]
            side, other = tree.split(start, nxt, x, int(g.u[last]) if int(g.v[last]) == x else int(g.v[last]))
            length = g.w[path_edges].sum()
            # only a shorter connection helps: the search stops at the path's length
            dist, pred, _ = dijkstra(g.csr, indices=side, min_only=True, return_predecessors=True, limit=length)
            target = other[np.argmin(dist[other])]
            if dist[target] < length - 1e-9:
                rest = np.array(sorted(set(edges.tolist()) - set(path_edges)), dtype=np.int64)
                new, y = [], int(target)
                side_set = set(side.tolist())
                while y not in side_set:
                    p = int(pred[y])
                    new.append(g.edge(p, y))
                    y = p
                merged = np.unique(np.r_[rest, np.array(new, dtype=np.int64)])
                nodes = _tree_nodes(g, merged)
                cand = mst_prune(g, nodes, terminals)
                if cand is not None and g.cost(cand) < g.cost(edges) - 1e-9:
                    return cand, start
    return None


class _RootedTree:
    """A tree (adjacency of `_key_nodes`) rooted at a node, with each node's subtree as a slice of the DFS order."""

    def __init__(self, adj: dict[int, list[tuple[int, int]]], root: int):
        self.order: list[int] = []
        self.first: dict[int, int] = {}     # position of a node in `order`
        self.depth: dict[int, int] = {root: 0}
        stack = [root]
        while stack:
            x = stack.pop()
            self.first[x] = len(self.order)
            self.order.append(x)
            for y, _ in adj[x]:
                if y not in self.depth:
                    self.depth[y] = self.depth[x] + 1
                    stack.append(y)
        self.size = dict.fromkeys(self.order, 1)
        for x in reversed(self.order):
            for y, _ in adj[x]:
                if self.depth[y] == self.depth[x] + 1:
                    self.size[x] += self.size[y]
        self.nodes = np.array(self.order, dtype=np.int64)

    def subtree(self, x: int) -> np.ndarray:
        return self.nodes[self.first[x]:self.first[x] + self.size[x]]

    def split(self, start: int, after_start: int, end: int, before_end: int) -> tuple[np.ndarray, np.ndarray]:
        """The parts that hold `start` and `end` once the path start - after_start - ... - before_end - end (inner
        nodes of degree 2) is removed: the lower end keeps its subtree, the upper end all outside the path's top."""
        if self.depth[end] > self.depth[start]:            # the path runs down from start
            return self._outside(after_start), self.subtree(end)
        return self.subtree(start), self._outside(before_end)

    def _outside(self, x: int) -> np.ndarray:
        return np.r_[self.nodes[:self.first[x]], self.nodes[self.first[x] + self.size[x]:]]


def _key_vertex_pass(g: Graph, edges: np.ndarray, terminals: np.ndarray) -> tuple[np.ndarray, bool]:
    """Remove a Steiner node of tree degree >= 3 with its key paths; rejoin the parts by shortest paths.

    As in ``_key_path_pass`` the pass goes on after a gain, on the new tree, with the key nodes after the one it
    was at. The parts come from the rooted tree and the searches stop at the removed paths' length left: a
    connected-components call and a full search per part were 30 of instance191's 61 s heuristic (profiled).
    """
    gained = False
    after = -1
    while True:
        adj, is_key, is_term = _key_nodes(g, edges, terminals)
        if not is_key:
            return edges, gained
        cand = _first_vertex_elimination(g, edges, terminals, adj, is_key, is_term, after)
        if cand is None:
            return edges, gained
        edges, after, gained = cand[0], cand[1], True


def _first_vertex_elimination(g: Graph, edges: np.ndarray, terminals: np.ndarray, adj, is_key: set[int],
                              is_term: np.ndarray, after: int) -> tuple[np.ndarray, int] | None:
    """The first cheaper tree from eliminating a Steiner key node above ``after``, and that node."""
    tree = _RootedTree(adj, min(is_key))
    current = g.cost(edges)
    for k in sorted(x for x in is_key if not is_term[x] and x > after):
        removed: list[int] = []
        parts: list[np.ndarray] = []
        for nxt, e in adj[k]:
            path_edges, x = _key_path(adj, is_key, k, nxt, e)
            removed += path_edges
            last = path_edges[-1]
            parts.append(tree.split(k, nxt, x, int(g.u[last]) if int(g.v[last]) == x else int(g.v[last]))[1])
        budget = g.w[removed].sum()
        joined = set(parts[0].tolist())
        todo = list(range(1, len(parts)))
        added: list[int] = []
        spent = 0.0
        while todo:
            dist, pred, _ = dijkstra(g.csr, indices=np.array(sorted(joined)), min_only=True, return_predecessors=True,
                                     limit=budget - spent)
            near = [float(dist[parts[i]].min()) for i in todo]
            j = int(np.argmin(near))
            if spent + near[j] >= budget - 1e-9:
                break
            i = todo.pop(j)
            y = int(parts[i][np.argmin(dist[parts[i]])])
            spent += near[j]
            while y not in joined:
                p = int(pred[y])
                added.append(g.edge(p, y))
                joined.add(y)
                y = p
            joined |= set(parts[i].tolist())
        if todo:
            continue
        rest = np.array(sorted(set(edges.tolist()) - set(removed)), dtype=np.int64)
        cand = mst_prune(g, _tree_nodes(g, np.r_[rest, np.array(added, dtype=np.int64)]), terminals)
        if cand is not None and g.cost(cand) < current - 1e-9:
            return cand, k
    return None


def improve(g: Graph, edges: np.ndarray, terminals: np.ndarray, max_passes: int = 50,
            deadline: float = math.inf) -> np.ndarray:
    """Local search until neither move helps (or ``max_passes`` passes, or ``time.perf_counter()`` passes
    ``deadline``: the exact solver's time limit; on instance191 it took 14.8 s of a 42 s build, profiled).

    Key-path and key-vertex exchanges repeat until neither helps before the next insertion pass: an
    exchange pass stops at its first gain, and rerunning the (costlier, rarely helpful) insertion pass
    after each one took 60 % of instance105's heuristic.
    """
    passes = 0
    while passes < max_passes and time.perf_counter() < deadline:
        edges, inserted = _insertion_pass(g, edges, terminals, deadline)
        passes += 1
        exchanged = False
        while passes < max_passes and time.perf_counter() < deadline:
            edges, gained = _key_path_pass(g, edges, terminals)
            if not gained:
                edges, gained = _key_vertex_pass(g, edges, terminals)
            if not gained:
                break
            exchanged = True
            passes += 1
        if not (inserted or exchanged):
            break
    return edges


def steiner_heuristic(g: Graph, terminals: np.ndarray, n_roots: int = 8) -> np.ndarray:
    """Best of the shortest-path heuristic from up to ``n_roots`` terminals, MST-pruned, improved."""
    terminals = np.asarray(terminals)
    if len(terminals) <= 1:
        return np.array([], dtype=np.int64)
    roots = terminals[np.unique(np.linspace(0, len(terminals) - 1, min(n_roots, len(terminals))).astype(int))]
    best = None
    for r in roots.tolist():
        tree = shortest_path_tree(g, terminals, int(r))
        pruned = mst_prune(g, _tree_nodes(g, tree), terminals)
        if pruned is not None and g.cost(pruned) <= g.cost(tree):
            tree = pruned
        if best is None or g.cost(tree) < g.cost(best):
            best = tree
    return improve(g, best, terminals)
