"""The warm start: a feasible radial design built greedily, given to the solver as its MIP start.

Customers are assigned to sources by a regret rule within spare capacity, then routed (`greedy_attach`); several
customer orders are the fallback. Conductors are sized to the flow and upgraded where the voltage drop breaks the
limit (`repair_voltage`), which also repairs the solver's designs between voltage-row rounds.
"""

from __future__ import annotations

import heapq
import math

import numpy as np

from costmodel.grid.radial.data import CAPACITY_TOL_KVA, Instance, adjacency, evaluate, path_to_root, tree_parent


def _cheapest(opts, need_kva, cap):
    """Cheapest option of an arc with capacity >= need (options sorted by cost)."""
    for o in opts:
        if cap[o] + CAPACITY_TOL_KVA >= need_kva:
            return o
    return None


def repair_voltage(inst: Instance, chosen: list[int]) -> list[int] | None:
    """Upgrade conductors on violated paths, best drop saving per yuan first; None if it cannot.

    Customers not (yet) reached are ignored: the greedy design repairs partial trees.
    """
    opt = inst.options
    cap, cost, per_kva = (opt[c].to_numpy() for c in ("capacity_kva", "cost_cny", "drop_pct_per_kva"))
    alternatives = opt.groupby("arc").indices
    arc_of, tail_of = opt["arc"].to_numpy(), opt["tail"].to_numpy()
    chosen = list(chosen)
    for _ in range(10 * len(chosen) + 10):
        tree = evaluate(inst, chosen)
        if tree.overloaded or tree.over_spare:
            return None
        if not tree.violated:
            return tree.chosen
        parent = tree_parent(inst, tree.chosen)
        path, _ = path_to_root(parent, tail_of, int(inst.customer_nodes[tree.violated[0]]))
        best, best_ratio = None, 0.0
        for o in path:
            f = tree.flow_kva[o]
            for alt in alternatives[arc_of[o]]:
                saving = (per_kva[o] - per_kva[alt]) * f
                if saving <= 0 or cap[alt] + CAPACITY_TOL_KVA < f:
                    continue
                ratio = saving / max(cost[alt] - cost[o], 1e-9)
                if ratio > best_ratio:
                    best, best_ratio = (o, alt), ratio
        if best is None:
            return None
        chosen = [best[1] if o == best[0] else o for o in tree.chosen]
    return None


def size_conductors(inst: Instance, chosen: list[int], per_arc: dict) -> list[int] | None:
    """Cheapest conductor of each chosen arc that carries its flow; None if some arc cannot."""
    cap = inst.options["capacity_kva"].to_numpy()
    arc_of = inst.options["arc"].to_numpy()
    tree = evaluate(inst, chosen)
    sized = []
    for o in tree.chosen:
        alt = _cheapest(per_arc[arc_of[o]], tree.flow_kva[o], cap)
        if alt is None:
            return None
        sized.append(alt)
    return sized


def resize(inst: Instance, chosen: list[int]) -> list[int] | None:
    """The same routes re-sized: each arc's cheapest conductor that carries its flow, upgraded where a drop breaks
    the limit; None if some arc cannot carry its flow. Cheaper where a time-limited solve left a conductor larger
    than it needs; feasible again where the AC loop tightened the capacities."""
    _, per_arc = adjacency(inst)
    sized = size_conductors(inst, chosen, per_arc)
    return None if sized is None else repair_voltage(inst, sized)


def regret_assignment(inst: Instance) -> tuple[list[int], dict[int, int]] | None:
    """Customer nodes in assignment order and the source each is assigned to, within spare capacity.

    Cost of a (source, node) pair: the shortest path over the cheapest option of every arc. Repeatedly
    the unassigned node with the largest regret (second-cheapest source that still has room minus the
    cheapest; a node with one such source first, then larger demand) takes its cheapest source with
    room: a node that only one feeder can still serve is not left until others have used that feeder
    up. None if some node finds no source with room.
    """
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import dijkstra

    opt = inst.options
    arc_cost = opt.groupby(["tail", "head"])["cost_cny"].min()
    graph = csr_matrix((arc_cost.to_numpy(), (arc_cost.index.get_level_values(0), arc_cost.index.get_level_values(1))),
                       shape=(inst.n_nodes, inst.n_nodes))
    path_cost = dijkstra(graph, directed=True, indices=inst.sources)     # sources x nodes
    room = inst.spare_kva.astype(float).copy()
    demand = inst.demand_kva
    unassigned = sorted(set(int(n) for n in inst.customer_nodes))
    order, assigned = [], {}
    while unassigned:
        best = None
        for n in unassigned:
            costs = np.where(room + CAPACITY_TOL_KVA >= demand[n], path_cost[:, n], np.inf)
            ranked = np.sort(costs)
            if not math.isfinite(ranked[0]):
                return None
            regret = ranked[1] - ranked[0] if len(ranked) > 1 else math.inf
            key = (regret, demand[n])
            if best is None or key > best[0]:
                best = (key, n, int(np.argmin(costs)))
        _, n, s = best
        room[s] -= demand[n]
        assigned[n] = int(inst.sources[s])
        order.append(n)
        unassigned.remove(n)
    return order, assigned


def greedy_design(inst: Instance, tries: int = 8, seed: int = 0, retries: int = 3) -> list[int] | None:
    """Warm start: the cheapest of `greedy_attach` over several customer orders.

    First the capacity-aware one: customers assigned to sources by `regret_assignment`, each routed
    only from its own source. Then largest demand first, farthest from any source first and random
    orders, routed from any source: one order can wall a customer in behind other feeders' trees
    where another does not. An order that gets stuck at a customer is retried with that customer
    first, up to `retries` times (a plot that only a transformer site or one feeder can reach gets
    its route before the others take the way).
    """
    demand = inst.demand_kva
    nodes = sorted(set(int(n) for n in inst.customer_nodes))
    best, best_cost = None, math.inf
    assignment = regret_assignment(inst)
    if assignment is not None:
        chosen, _ = greedy_attach(inst, *assignment)
        if chosen is not None:
            best, best_cost = chosen, evaluate(inst, chosen).cost_cny
    xy = inst.network.nodes[["x_m", "y_m"]].to_numpy()
    reach = {n: min(np.hypot(*(xy[n] - xy[s])) for s in inst.sources) for n in nodes}
    orders = [sorted(nodes, key=lambda n: -demand[n]), sorted(nodes, key=lambda n: -reach[n])]
    rng = np.random.default_rng(seed)
    orders += [list(rng.permutation(nodes)) for _ in range(max(tries - 2, 0))]
    for order in orders[:tries]:
        for _ in range(retries + 1):
            chosen, stuck = greedy_attach(inst, order)
            if stuck is None:
                break
            order = [stuck] + [n for n in order if n != stuck]
        if chosen is not None and evaluate(inst, chosen).cost_cny < best_cost:
            best, best_cost = chosen, evaluate(inst, chosen).cost_cny
    return best


def greedy_attach(inst: Instance, order: list[int],
                  assigned: dict[int, int] | None = None) -> tuple[list[int] | None, int | None]:
    """Attach customer nodes in the given order to the cheapest feasible feeder tree.

    With `assigned` (customer node -> source node), a customer's own source is tried first.

    For each source with spare capacity, a Dijkstra from its current tree, each tree node starting
    at the cost of upgrading its path to carry the new demand, over free nodes with the cheapest
    conductor that carries it; the cheapest attachment whose tree passes the capacity and voltage
    checks (after resizing and conductor upgrades) wins. Returns (chosen options, None), or (None,
    the first customer node that could not be attached).
    """
    opt = inst.options
    cap, cost = opt["capacity_kva"].to_numpy(), opt["cost_cny"].to_numpy()
    adj, per_arc = adjacency(inst)
    arc_of, tail_of, head_of = opt["arc"].to_numpy(), opt["tail"].to_numpy(), opt["head"].to_numpy()
    is_source = np.zeros(inst.n_nodes, dtype=bool)
    is_source[inst.sources] = True
    spare = dict(zip((int(s) for s in inst.sources), inst.spare_kva))
    demand = inst.demand_kva
    tree = evaluate(inst, [])
    owner = np.where(is_source, np.arange(inst.n_nodes), -1)
    parent: dict[int, int] = {}
    # a route never passes through another source's first node: that would shut the source out
    entry = {int(s): {w for _, w, _ in adj.get(int(s), [])} for s in inst.sources}

    def upgrade_cost(node, extra):
        """Cost of the conductor changes that carry `extra` more kVA from node up to its source."""
        total = 0.0
        for o in path_to_root(parent, tail_of, node)[0]:
            need = tree.flow_kva.get(o, 0.0) + extra
            if cap[o] + CAPACITY_TOL_KVA < need:
                alt = _cheapest(per_arc[arc_of[o]], need, cap)
                if alt is None:
                    return math.inf
                total += cost[alt] - cost[o]
        return total

    for node in order:
        if owner[node] >= 0:
            continue  # supplied already, as a transit node of an earlier customer's route
        d = demand[node]
        candidates = []
        for s in (int(s) for s in inst.sources):
            if demand[owner == s].sum() + d > spare[s] + CAPACITY_TOL_KVA:
                continue
            dist: dict[int, float] = {}
            via: dict[int, tuple] = {}
            heap = []
            for v in np.flatnonzero(owner == s):
                c = upgrade_cost(int(v), d)
                if c < math.inf:
                    dist[int(v)] = c
                    heap.append((c, int(v)))
            heapq.heapify(heap)
            blocked = set().union(*(e for t, e in entry.items() if t != s and (owner == t).sum() == 1))
            blocked.discard(node)
            while heap:
                c, v = heapq.heappop(heap)
                if c > dist.get(v, math.inf) or v == node:
                    continue
                for _, w, opts in adj.get(v, []):
                    if owner[w] >= 0 or is_source[w] or w in blocked:
                        continue
                    o = _cheapest(opts, d, cap)
                    if o is not None and c + cost[o] < dist.get(w, math.inf):
                        dist[w] = c + cost[o]
                        via[w] = (v, o)
                        heapq.heappush(heap, (dist[w], w))
            if node in dist:
                candidates.append((dist[node], s, via))
        # its assigned source first (if that route fails the capacity or voltage checks, the others)
        for _, s, via in sorted(candidates, key=lambda c: (assigned is not None and assigned[node] != c[1], c[0])):
            trial, v = dict(parent), node
            while v in via:
                v, o = via[v]
                trial[int(head_of[o])] = o
            sized = size_conductors(inst, list(trial.values()), per_arc)
            repaired = None if sized is None else repair_voltage(inst, sized)
            if repaired is not None:
                tree = evaluate(inst, repaired)
                parent = tree_parent(inst, tree.chosen)
                owner = np.where(is_source, np.arange(inst.n_nodes), tree.supplied_by)
                break
        else:
            return None, node
    return (tree.chosen, None) if tree.feasible else (None, None)
