"""Exact Steiner-tree reductions: each keeps at least one optimal tree and can be undone.

The working graph keeps, for every surviving edge, the tuple of original edge ids it stands for
(a contracted degree-2 path stands for all its edges), and a list of original edges already forced
into the tree (terminal contractions). A tree in the reduced graph therefore expands to original
edges of the same cost, ``fixed_cost + sum of reduced weights``, or less: edges that NTDk made share
original edges, which count once in the expansion.

Tests (names as in Duin & Volgenant 1989, Polzin & Vahdati Daneshmand 2001):
- ``parallel``: of two edges between the same nodes only the cheaper can be in an optimal tree.
- ``degree1``: a non-terminal leaf never helps.
- ``degree2``: a non-terminal of degree 2 is either unused or passed through: merge its two edges.
- ``terminal_degree1``: the only edge of a terminal is in every tree: contract it.
- ``long_edge`` (shortest path / special distance test): an edge longer than an upper bound of the
  bottleneck Steiner distance between its ends is in no optimal tree. The terminals' bottleneck distances
  come from Mehlhorn's spanning tree over the Voronoi regions (``_terminal_bottlenecks``).
- ``nearest_vertex``: a terminal's cheapest edge (t, v) is in some optimal tree when
  c(t, v) + d(v, z) <= second-cheapest edge of t, for another terminal z: contract it. d(v, z) is v's
  nearest or second-nearest terminal from one two-label search (``_voronoi``).
- ``ntd`` (NTDk, Duin's bottleneck degree test, k <= ``NTD_MAX_DEGREE``): a non-terminal whose
  neighbours the bottleneck Steiner distance joins no dearer than its own edges has degree <= 2 in
  some optimal tree: it is replaced by edges between its neighbours (pseudo-elimination), except where
  the search already found a path avoiding it that joins the two as cheaply (the long-edge test).
- ``dual_ascent`` (bound-based, Polzin & Vahdati Daneshmand): after Wong's dual ascent, an arc
  whose reduced-cost lower bound exceeds the incumbent's cost is in no better tree; an edge with
  both arcs so fixed is deleted. Exact relative to the incumbent, which the solver keeps.
"""

from __future__ import annotations

import heapq
from collections import Counter
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra, minimum_spanning_tree

from costmodel.errors import InputError

# Terminals nearest to each end of an edge that the long-edge test pairs up (it needs only some pair)
LONG_EDGE_TERMINALS = 8
# NTDk: non-terminals of degree up to this are tested; searches settle at most this many nodes each
NTD_MAX_DEGREE = 4
NTD_SEARCH_NODES = 60
REDUCTION_NAMES = (
    "parallel", "degree1", "degree2", "terminal_degree1", "long_edge", "nearest_vertex", "ntd", "dual_ascent",
)


@dataclass
class WorkGraph:
    """Mutable undirected multigraph-free graph used while reducing."""

    adj: dict[int, dict[int, int]]  # node -> {neighbour: edge key}
    edges: dict[int, tuple[int, int, float, tuple[int, ...]]]  # key -> (u, v, weight, original ids)
    terminals: set[int]
    fixed_edges: list[int] = field(default_factory=list)
    fixed_cost: float = 0.0
    removed: Counter = field(default_factory=Counter)
    ntd_failed: dict = field(default_factory=dict)  # node -> its edge keys when NTDk last failed on it
    _next_key: int = 0

    @classmethod
    def from_arrays(cls, n_nodes: int, u: np.ndarray, v: np.ndarray, w: np.ndarray, terminals) -> WorkGraph:
        g = cls(adj={i: {} for i in range(n_nodes)}, edges={}, terminals=set(int(t) for t in terminals))
        for k, (a, b, c) in enumerate(zip(u.tolist(), v.tolist(), w.tolist())):
            g.add_edge(a, b, c, (k,))
        return g

    def add_edge(self, a: int, b: int, w: float, orig: tuple[int, ...]) -> None:
        """Add edge a-b; of parallel edges keep the cheaper one (``parallel`` test)."""
        old = self.adj[a].get(b)
        if old is not None:
            self.removed["parallel"] += 1
            if self.edges[old][2] <= w:
                return
            self.delete_edge(old)
        key = self._next_key
        self._next_key += 1
        self.edges[key] = (a, b, w, orig)
        self.adj[a][b] = key
        self.adj[b][a] = key

    def delete_edge(self, key: int) -> None:
        a, b, _, _ = self.edges.pop(key)
        del self.adj[a][b]
        del self.adj[b][a]

    def delete_node(self, x: int) -> None:
        for y in list(self.adj[x]):
            self.delete_edge(self.adj[x][y])
        del self.adj[x]
        self.terminals.discard(x)

    def contract(self, t: int, v: int) -> None:
        """Force edge t-v into the tree and merge t into v (v becomes a terminal)."""
        key = self.adj[t][v]
        _, _, w, orig = self.edges[key]
        self.fixed_edges.extend(orig)
        self.fixed_cost += w
        self.delete_edge(key)
        for y, k in list(self.adj[t].items()):
            _, _, wy, oy = self.edges[k]
            self.delete_edge(k)
            self.add_edge(v, y, wy, oy)
        del self.adj[t]
        self.terminals.discard(t)
        self.terminals.add(v)

    def to_arrays(self):
        """Compact copy: (node ids, u, v, w, edge keys, terminal indices) with 0-based node indices."""
        nodes = np.array(sorted(self.adj), dtype=np.int64)
        index = {x: i for i, x in enumerate(nodes.tolist())}
        keys = np.array(sorted(self.edges), dtype=np.int64)
        u = np.array([index[self.edges[k][0]] for k in keys.tolist()], dtype=np.int64)
        v = np.array([index[self.edges[k][1]] for k in keys.tolist()], dtype=np.int64)
        w = np.array([self.edges[k][2] for k in keys.tolist()], dtype=float)
        term = np.array(sorted(index[t] for t in self.terminals), dtype=np.int64)
        return nodes, u, v, w, keys, term


def degree_tests(g: WorkGraph) -> None:
    """degree1, degree2 and terminal_degree1 until none applies."""
    queue = list(g.adj)
    while queue:
        x = queue.pop()
        if x not in g.adj or len(g.terminals) <= 1:
            continue
        nbrs = list(g.adj[x])
        if x not in g.terminals:
            if len(nbrs) <= 1:
                g.delete_node(x)
                g.removed["degree1"] += 1
                queue.extend(nbrs)
            elif len(nbrs) == 2:
                a, b = nbrs
                _, _, wa, oa = g.edges[g.adj[x][a]]
                _, _, wb, ob = g.edges[g.adj[x][b]]
                g.delete_node(x)
                g.add_edge(a, b, wa + wb, oa + ob)
                g.removed["degree2"] += 1
                queue.extend(nbrs)
        elif len(nbrs) == 0:
            raise InputError(f"terminal node index {x} has no edge: no tree can connect the terminals")
        elif len(nbrs) == 1:
            (v,) = nbrs
            g.contract(x, v)
            g.removed["terminal_degree1"] += 1
            queue.extend(g.adj[v])
            queue.append(v)


def _csgraph(n: int, u: np.ndarray, v: np.ndarray, w: np.ndarray):
    # zero-weight edges would vanish from a sparse matrix; a tiny positive weight keeps them
    ww = np.where(w > 0, w, 1e-9)
    return coo_matrix((np.r_[ww, ww], (np.r_[u, v], np.r_[v, u])), shape=(n, n)).tocsr()


def long_edge_test(g: WorkGraph) -> int:
    """Delete edges longer than an upper bound of the bottleneck Steiner distance of their ends.

    Bound: min(shortest u-v path avoiding nothing, min over terminals i, j of
    max(d(u, z_i), b(z_i, z_j), d(z_j, v))), b the bottleneck distance in the MST of the terminal
    distance graph, i and j among the LONG_EDGE_TERMINALS terminals nearest to u and to v. A strict inequality means the edge is in no optimal tree, so all such edges
    can go at once (a path through the edge itself would give a bound >= its weight).
    """
    nodes, u, v, w, keys, term = g.to_arrays()
    n = len(nodes)
    if len(term) < 2 or len(u) == 0:
        return 0
    graph = _csgraph(n, u, v, w)
    bott = _terminal_bottlenecks(graph, u, v, w, term)
    if bott is None:
        return 0  # terminals in different components: the solver reports infeasible
    # a terminal farther from an end than the longest edge cannot make any edge's bound smaller than its weight:
    # the searches stop there (instance191: 0.42 s -> 0.01 s a search from every terminal)
    limit = float(w.max())
    dist_t = dijkstra(graph, indices=term, limit=limit)  # terminals x nodes
    # best over (i, j) of max(d(u,z_i), b(i,j), d(z_j,v)), i and j among the terminals nearest to u and to v
    # (any pair gives a valid bound; all pairs cost edges x T^2: 76 % of instance105's build), vectorised in chunks
    k = min(LONG_EDGE_TERMINALS, len(term))
    nearest = np.argpartition(dist_t, k - 1, axis=0)[:k].T if k < len(term) else np.tile(np.arange(len(term)), (n, 1))
    near_dist = np.take_along_axis(dist_t.T, nearest, axis=1)  # nodes x k
    bound = np.full(len(u), np.inf)
    for start in range(0, len(u), 4096):
        sl = slice(start, start + 4096)
        iu, iv = nearest[u[sl]], nearest[v[sl]]                              # edges x k terminal positions
        du = near_dist[u[sl]][:, :, None]                                     # edges x k x 1
        dv = near_dist[v[sl]][:, None, :]                                     # edges x 1 x k
        between = bott[iu[:, :, None], iv[:, None, :]]                        # edges x k x k
        bound[sl] = np.maximum(np.maximum(du, between), dv).min(axis=(1, 2))
    # plain shortest path, searched only as far as the longest edge
    for start in range(0, n, 512):
        rows = np.arange(start, min(n, start + 512))
        d = dijkstra(graph, indices=rows, limit=limit)
        mask = (u >= start) & (u < start + 512)
        idx = np.flatnonzero(mask)
        bound[idx] = np.minimum(bound[idx], _second_path(graph, d, u[idx] - start, v[idx], w[idx]))
    drop = keys[w > bound + 1e-9 * np.maximum(1.0, w)]
    for key in drop.tolist():
        g.delete_edge(int(key))
    g.removed["long_edge"] += len(drop)
    return len(drop)


def _terminal_bottlenecks(graph, u: np.ndarray, v: np.ndarray, w: np.ndarray, term: np.ndarray) -> np.ndarray | None:
    """Bottleneck distances between all terminals in a minimum spanning tree of their distance graph (None if
    they are not connected).

    Mehlhorn (1988): a minimum spanning tree of the terminals joined by each edge between two Voronoi regions,
    weighted d(base(x), x) + c(x, y) + d(y, base(y)), is one of the distance graph; and minimax distances are
    the same in every minimum spanning tree. One search from all terminals together instead of one from each
    (instance191: 0.42 s and a 1,061 x 1,061 spanning tree 0.13 s per call, profiled).
    """
    dist, _, base = dijkstra(graph, indices=term, min_only=True, return_predecessors=True)
    position = np.full(len(dist), -1)
    position[term] = np.arange(len(term))
    region = np.where(base >= 0, position[np.maximum(base, 0)], -1)
    cross = np.flatnonzero((region[u] != region[v]) & (region[u] >= 0) & (region[v] >= 0))
    k = len(term)
    # distances of 0 would read as missing edges in the sparse spanning tree; of parallel region pairs the
    # sparse matrix would add weights, so only the cheapest of each pair goes in
    weight = np.maximum(dist[u[cross]] + w[cross] + dist[v[cross]], 1e-12)
    a, b = np.minimum(region[u[cross]], region[v[cross]]), np.maximum(region[u[cross]], region[v[cross]])
    order = np.lexsort((weight, b, a))
    first = np.r_[True, (a[order][1:] != a[order][:-1]) | (b[order][1:] != b[order][:-1])]
    pick = order[first]
    mst = minimum_spanning_tree(coo_matrix((weight[pick], (a[pick], b[pick])), shape=(k, k)).tocsr()).toarray()
    if np.count_nonzero(mst) < k - 1:
        return None
    return _bottleneck(mst + mst.T)


def _second_path(graph, d, row, col, w):
    """Shortest u-v distance if it beats the direct edge, else +inf (the edge itself doesn't count)."""
    dd = d[row, col]
    return np.where(dd < w - 1e-9 * np.maximum(1.0, w), dd, np.inf)


def _bottleneck(tree: np.ndarray) -> np.ndarray:
    """Minimax distance between all pairs of nodes of a tree given as a dense symmetric matrix.

    Kruskal's order: when the tree edge of weight w joins parts A and B, every pair across them has
    bottleneck w (all lighter edges are inside the parts). One block assignment per edge.
    """
    k = len(tree)
    rows, cols = np.nonzero(np.triu(tree))
    order = np.argsort(tree[rows, cols], kind="stable")
    part = list(range(k))
    members = {i: [i] for i in range(k)}
    out = np.zeros((k, k))
    for r, c in zip(rows[order].tolist(), cols[order].tolist()):
        a, b = part[r], part[c]
        if len(members[a]) < len(members[b]):
            a, b = b, a
        out[np.ix_(members[a], members[b])] = tree[r, c]
        out[np.ix_(members[b], members[a])] = tree[r, c]
        for x in members[b]:
            part[x] = a
        members[a] += members.pop(b)
    return out


def _voronoi(g: WorkGraph):
    """Nearest and second-nearest terminals of every node (of two different terminals), by one search.

    Returns (nodes, u, v, w, keys, term) as ``WorkGraph.to_arrays`` and, per compact node, base1 / dist1
    (nearest terminal, compact index, and its distance) and base2 / dist2 (the nearest other terminal; -1 and
    inf if none). A node keeps at most two labels with different bases, so each node is settled at most twice:
    a heap search over nodes x 2 labels instead of one shortest-path search per terminal (instance191's 1,379
    of them made the nearest-vertex test 6.3 of a 37 s build, profiled).
    """
    nodes, u, v, w, keys, term = g.to_arrays()
    n = len(nodes)
    order = np.argsort(np.r_[u, v], kind="stable")
    heads, weights = np.r_[v, u][order].tolist(), np.r_[w, w][order].tolist()
    indptr = np.searchsorted(np.r_[u, v][order], np.arange(n + 1)).tolist()
    base1, base2 = [-1] * n, [-1] * n
    dist1, dist2 = [np.inf] * n, [np.inf] * n
    heap = [(0.0, t, t) for t in term.tolist()]
    heapq.heapify(heap)
    while heap:
        d, x, b = heapq.heappop(heap)
        if base1[x] < 0:
            base1[x], dist1[x] = b, d
        elif base2[x] < 0 and base1[x] != b:
            base2[x], dist2[x] = b, d
        else:
            continue
        for i in range(indptr[x], indptr[x + 1]):
            y = heads[i]
            if base2[y] < 0 and base1[y] != b:
                heapq.heappush(heap, (d + weights[i], y, b))
    return (nodes, u, v, w, keys, term), np.array(base1), np.array(dist1), np.array(base2), np.array(dist2)


def nearest_vertex_test(g: WorkGraph) -> int:
    """Contract a terminal's cheapest edge (t, v) when c(t, v) + d(v, z) <= its second-cheapest edge, z another
    terminal (d(v, z): ``_voronoi``'s nearest terminal of v other than t).

    Several contractions per round are applied only when their neighbourhoods are disjoint, so the
    distances they were tested with stay upper bounds.
    """
    if len(g.terminals) < 2:
        return 0
    (nodes, *_), base1, dist1, base2, dist2 = _voronoi(g)
    index = {x: i for i, x in enumerate(nodes.tolist())}
    touched: set[int] = set()
    done = 0
    for t in sorted(g.terminals):
        if t not in g.adj or len(g.terminals) <= 1 or len(g.adj[t]) < 2:
            continue
        if touched & ({t} | set(g.adj[t])):
            continue
        (c1, v1), (c2, _) = heapq.nsmallest(2, ((g.edges[k][2], y) for y, k in g.adj[t].items()))
        i, ti = index[v1], index[t]
        other = dist1[i] if base1[i] != ti else dist2[i]
        if c1 + other <= c2:
            touched |= {t, v1} | set(g.adj[t]) | set(g.adj[v1])
            g.contract(t, v1)
            done += 1
    g.removed["nearest_vertex"] += done
    return done


def non_terminal_degree_test(g: WorkGraph, max_degree: int = NTD_MAX_DEGREE) -> int:
    """NTDk (Duin 1993, "bottleneck degree" test): pseudo-eliminate a non-terminal x of degree 3..k.

    If for every set S of at least three of x's neighbours the minimum spanning tree of S under the
    bottleneck Steiner distance s (in the graph without x) weighs no more than the edges from x to S,
    a tree in which x has degree >= 3 can be rebuilt without x at no extra cost: some optimal tree
    has x of degree <= 2. So x goes and each pair a, b of its neighbours gets an edge of weight
    c(x, a) + c(x, b) standing for both original paths. Two such edges share original edges; a tree
    using both costs more than x's star, so the optimum never does, and ``to_original`` deduplicates.
    A pair whose search found s(a, b) <= c(x, a) + c(x, b) gets no edge: a tree using it would swap it
    for a stretch of that path at no extra cost. Added, those edges were deleted again by the long-edge
    test one round later, and meanwhile held a and b above degree k (instance134: 246 nodes eliminated
    in 27 reduce rounds with them, 531 without; build 6.5 -> 5.5 s profiled, and proven there).

    s is bounded from above (which keeps the test exact) by ``_bottleneck_search``. A node whose own edges
    have not changed since it last failed (``g.ntd_failed``) is skipped: skipping a test is always safe, and
    retesting all of them in every round of every ``reduce`` was most of the test's time (instance056: 0.64
    of 0.78 s). Returns how many nodes went.
    """
    done = 0
    failed = g.ntd_failed
    for x in [x for x in g.adj if x not in g.terminals and 3 <= len(g.adj[x]) <= max_degree]:
        if x not in g.adj or not 3 <= len(g.adj[x]) <= max_degree or len(g.terminals) <= 1:
            continue
        keys = frozenset(g.adj[x].values())
        if failed.get(x) == keys:
            continue
        nbrs = list(g.adj[x])
        star = {y: g.edges[g.adj[x][y]] for y in nbrs}
        limit = sum(e[2] for e in star.values())
        s = {}
        for i, a in enumerate(nbrs[:-1]):
            reach = _bottleneck_search(g, a, x, set(nbrs[i + 1:]), limit, NTD_SEARCH_NODES)
            for b in nbrs[i + 1:]:
                s[a, b] = s[b, a] = reach.get(b, np.inf)
            if all(s[a, b] == np.inf for b in nbrs if b != a):
                break  # a joins no other neighbour: no spanning tree over all of them (most failures end here)
        if len(s) == len(nbrs) * (len(nbrs) - 1) and all(
                _mst_weight(subset, s) <= sum(star[y][2] for y in subset)
                for k in range(3, len(nbrs) + 1) for subset in combinations(nbrs, k)):
            g.delete_node(x)
            for a, b in combinations(nbrs, 2):
                # a path avoiding x joins a and b no dearer (long-edge test with the search's own bound):
                # the edge would only be deleted again, after keeping a and b above NTDk's degree meanwhile
                if s[a, b] > star[a][2] + star[b][2]:
                    g.add_edge(a, b, star[a][2] + star[b][2], star[a][3] + star[b][3])
            done += 1
        else:
            failed[x] = keys
    g.removed["ntd"] += done
    return done


def _bottleneck_search(g: WorkGraph, source: int, avoid: int, targets: set, limit: float, max_nodes: int) -> dict:
    """Upper bounds of the bottleneck Steiner distance from ``source`` to nodes, on paths avoiding ``avoid``.

    A path's value is its longest stretch between terminals (its ends count as terminals): any path
    found bounds s from above. The search settles nodes by that value, then by the open stretch's length,
    restarting the stretch at terminals; not an exact minimax search, but every label is a real path.
    Stops at ``max_nodes`` settled nodes, at labels above ``limit`` or when every target is settled.
    """
    heap = [(0.0, 0.0, source)]
    best: dict[int, float] = {}
    left = set(targets)
    while heap and len(best) < max_nodes and left:
        value, stretch, y = heapq.heappop(heap)
        if y in best:
            continue
        best[y] = value
        left.discard(y)
        if y in g.terminals:
            stretch = 0.0
        for z, key in g.adj[y].items():
            if z == avoid or z in best:
                continue
            longer = stretch + g.edges[key][2]
            label = max(value, longer)
            if label <= limit:
                heapq.heappush(heap, (label, longer, z))
    return best


def _mst_weight(nodes: tuple, dist: dict) -> float:
    """Prim's minimum spanning tree over a few nodes with pairwise distances ``dist``."""
    inside, rest, total = {nodes[0]}, set(nodes[1:]), 0.0
    while rest:
        d, y = min((dist[a, b], b) for a in inside for b in rest)
        total += d
        inside.add(y)
        rest.discard(y)
    return total


def reduce(g: WorkGraph, max_rounds: int = 20, ntd: bool = True) -> WorkGraph:
    """Apply all tests until a round changes nothing; counts are in ``g.removed``. ``ntd``: NTDk too."""
    for _ in range(max_rounds):
        before = (len(g.adj), len(g.edges))
        degree_tests(g)
        if len(g.terminals) <= 1:
            break
        long_edge_test(g)
        degree_tests(g)
        if len(g.terminals) <= 1:
            break
        nearest_vertex_test(g)
        # NTDk to its own fixpoint: a node it removes lowers its neighbours' degrees, and retesting costs only
        # the nodes whose edges changed; each extra round of the loop above repeats the long-edge test
        while ntd and non_terminal_degree_test(g) and len(g.terminals) > 1:
            degree_tests(g)
        if (len(g.adj), len(g.edges)) == before:
            break
    if len(g.terminals) <= 1:
        # everything left is optional: the forced edges already join all terminals
        for x in [x for x in g.adj if x not in g.terminals]:
            g.delete_node(x)
    return g


def dual_ascent(n: int, tail: np.ndarray, head: np.ndarray, cost: np.ndarray, terminals: np.ndarray, root: int):
    """Wong's dual ascent on the directed cut formulation rooted at ``root``.

    Repeatedly takes the terminal whose current cut is smallest, the cut being the arcs entering
    the set W of nodes that reach it over arcs of zero reduced cost, and raises that cut's dual by
    the smallest reduced cost on it. Returns (lower bound, reduced costs, cuts as arc arrays).
    W only grows, so it is kept per terminal and extended as arcs reach zero.
    """
    red = np.asarray(cost, dtype=float).copy()
    into: list[list[int]] = [[] for _ in range(n)]
    for a, h in enumerate(head.tolist()):
        into[h].append(a)
    tails = tail.tolist()
    eps = 1e-9
    bound = 0.0
    cuts: list[np.ndarray] = []
    state = {}
    for t in terminals.tolist():
        if t != root:
            state[t] = ({t}, list(into[t]))
    heap = [(len(cut), t) for t, (_, cut) in state.items()]
    heapq.heapify(heap)
    while heap:
        size, t = heapq.heappop(heap)
        members, cut = state[t]
        # grow W over arcs that reached zero since last time
        grown = False
        stack = [tails[a] for a in cut if red[a] <= eps and tails[a] not in members]
        while stack:
            x = stack.pop()
            if x in members:
                continue
            members.add(x)
            grown = True
            for a in into[x]:
                if red[a] <= eps and tails[a] not in members:
                    stack.append(tails[a])
        if root in members:
            continue  # this terminal is connected to the root: inactive
        if grown:
            cut = [a for x in members for a in into[x] if tails[a] not in members]
            state[t] = (members, cut)
            if len(cut) != size:
                heapq.heappush(heap, (len(cut), t))
                continue
        if not cut:
            return np.inf, red, cuts  # the terminal cannot be reached at all
        arr = np.array(cut, dtype=np.int64)
        delta = red[arr].min()
        red[arr] -= delta
        red[arr[red[arr] < eps]] = 0.0
        bound += delta
        cuts.append(arr)
        heapq.heappush(heap, (len(cut), t))
    return bound, red, cuts


def dual_ascent_fixing(n, tail, head, red, bound, terminals, root, cutoff) -> np.ndarray:
    """Arcs that lie in no pruned arborescence of cost <= ``cutoff`` (mask); arcs come in pairs, 2e and 2e + 1
    being the two directions of edge e.

    Any arborescence A using arc (u, v) costs at least bound + d(root, u) + red(u, v) + d(v, T), with d
    the reduced-cost distance and T the terminals other than the root. Extended test (Polzin & Vahdati
    Daneshmand 2001, depth one): once non-terminal leaves are pruned, which never makes a tree dearer,
    a non-terminal v leaves by another arc (v, w), w != u, and u != root is entered by an arc (x, u),
    x != v; so d(v, T) becomes the cheapest red(v, w) + d(w, T) and d(root, u) the cheapest d(root, x) + red(x, u),
    each over arcs other than the reverse of (u, v).
    """
    mat = coo_matrix((red + 1e-12, (tail, head)), shape=(n, n)).tocsr()
    from_root = dijkstra(mat, directed=True, indices=root)
    others = terminals[terminals != root]
    to_term = dijkstra(mat.T.tocsr(), directed=True, indices=others, min_only=True)
    onward = _without_reverse(tail, red + to_term[head], n)   # arc (u, v) -> cheapest (v, w) ... T, w != u
    onward = np.where(np.isin(head, terminals), 0.0, onward[_reverse(len(tail))])
    entry = _without_reverse(head, from_root[tail] + red, n)   # arc (u, v) -> cheapest root ... (x, u), x != v
    entry = np.where(tail == root, 0.0, entry[_reverse(len(tail))])
    return bound + entry + red + onward > cutoff + 1e-7


def _reverse(n_arcs: int) -> np.ndarray:
    return np.arange(n_arcs) ^ 1


def _without_reverse(node_of_arc: np.ndarray, value: np.ndarray, n: int) -> np.ndarray:
    """For each arc b: the least ``value`` over the arcs sharing ``node_of_arc[b]``, b itself left out.

    Indexed by the reverse arc this is "the cheapest other way on from (or into) a node than going
    back": per node the best and second-best value, the second where the best is b itself.
    """
    order = np.lexsort((value, node_of_arc))
    node_sorted = node_of_arc[order]
    first = np.r_[True, node_sorted[1:] != node_sorted[:-1]]
    best = np.full(n, np.inf)
    second = np.full(n, np.inf)
    best_arc = np.full(n, -1)
    starts = np.flatnonzero(first)
    best[node_sorted[starts]] = value[order[starts]]
    best_arc[node_sorted[starts]] = order[starts]
    has_second = starts + 1 < len(order)
    follow = starts[has_second] + 1
    same = node_sorted[follow] == node_sorted[starts[has_second]]
    second[node_sorted[follow[same]]] = value[order[follow[same]]]
    node = node_of_arc
    return np.where(best_arc[node] == np.arange(len(node)), second[node], best[node])
