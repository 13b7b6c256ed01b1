"""Capacitated fixed-charge design of a radial extension: build, solve, extract.

Variables (one directed arc per corridor direction, never into a source):
  w[o]      arc-option o (tail -> head with std_type t) is built;   sum over a corridor <= 1
  y[s]      source s (feeder bay / transformer) supplies;            root arc r -> s
  p[o]      kVA on arc-option o;  p[o] <= capacity[o] w[o]
  u[n]      linearised voltage drop at n in percent of nominal (DistFlow, one-sided):
            u[head] >= u[tail] + sum_t drop[o] p[o] - limit (1 - sum_t w[a, t]),  u <= limit
  in-degree of every node <= 1 (radial), = 1 at customers; supply of s <= spare[s] y[s].
  A candidate_transformer site is one arc hv_node -> site whose options are the catalogue's
  transformer sizes (binary per site x size, capacity the rating, cost the installed price); it has
  no voltage row: the secondary starts afresh at nominal voltage (the AC check makes it a source).
Formulations (FORMULATIONS; chosen by measurement in benchmarks/park_grid.py, docs/performance.md):
  plain           aggregate flow balance (default: fastest measured on the park grids)
  tree            plain + "a built arc leaves only a fed node" + "an arc into a customer carries at
                  least its demand"
  multicommodity  one commodity per customer, f[k, a] <= sum_t w[a, t] (tightest LP, but the LP
                  of a 12x12 park with 20 plots does not finish in 30 s here)
Voltage rows can be added lazily: solve, compute the drops on the radial result, add the rows of
arcs into the nodes on violated paths, solve again (a relaxation until no drop exceeds the limit;
every round's bound is a valid bound). A greedy radial design is the MIP start: customers assigned
to sources by a regret rule within spare capacity, then routed; customer orders as the fallback.
"""

from __future__ import annotations

import heapq
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyomo.environ as pyo
from ortools.graph.python import max_flow
from pyomo.contrib.appsi.solvers import Highs

from costmodel.errors import InputError
from costmodel.grid.network import SOURCE_KINDS, GridLimits, Network
from costmodel.grid.status import NETWORK_GAP, status_of, summary

FORMULATIONS = ("tree", "multicommodity", "plain")
TRANSFORMER_COLUMNS = ["corridor_id", "node_id", "hv_node", "std_type", "rating_kva", "flow_kva", "loading_pct", "cost_cny", "change"]
VOLTAGE_TOL_PCT = 1e-6
CAPACITY_TOL_KVA = 1e-6


@dataclass
class Instance:
    """Index-based view of a network + customers + limits, shared by model and heuristic."""

    network: Network
    customers: pd.DataFrame            # application_id, node_id, demand_kva
    limits: GridLimits
    node_ids: list[str]
    sources: np.ndarray                # node indices
    spare_kva: np.ndarray              # per source
    demand_kva: np.ndarray             # per node (sum of its customers)
    customer_nodes: np.ndarray         # per customer (commodity)
    options: pd.DataFrame              # one row per directed arc-option: arc, tail, head, std_type, ...
    arcs: pd.DataFrame                 # one row per directed arc: corridor_id, tail, head
    removed: dict = field(default_factory=dict)

    @property
    def n_nodes(self) -> int:
        return len(self.node_ids)


def prepare(network: Network, customers: pd.DataFrame, limits: GridLimits) -> Instance:
    """Index the network, orient every corridor both ways (never into a source) and prune dead ends."""
    nodes = network.nodes
    node_ids = list(nodes.index)
    index = {n: i for i, n in enumerate(node_ids)}
    is_source = (nodes["kind"].isin(SOURCE_KINDS) & (nodes["spare_capacity_kva"] > 0)).to_numpy()
    demand = np.zeros(len(node_ids))
    np.add.at(demand, customers["node_id"].map(index).to_numpy(), customers["demand_kva"].to_numpy())

    options = network.options.copy()
    options["u"] = options["from_node"].map(index)
    options["v"] = options["to_node"].map(index)
    corridors, removed = _prune(options, demand > 0, is_source, len(node_ids))
    options = options[options["corridor_id"].isin(corridors)]

    sin_phi = math.sqrt(1.0 - limits.power_factor ** 2)
    options["drop_pct_per_kva"] = (options["length_km"] * (options["r_ohm_per_km"] * limits.power_factor
                                                          + options["x_ohm_per_km"] * sin_phi)
                                   / (10.0 * options["voltage_kv"] ** 2))
    options["restarts_voltage"] = options["element"] == "transformer"   # a new transformer's secondary
    forward = options.assign(tail=options["u"], head=options["v"])
    # a transformer feeds its low-voltage side only: its options keep the hv_node -> site direction
    lines = options[options["element"] == "line"]
    backward = lines.assign(tail=lines["v"], head=lines["u"])
    directed = pd.concat([forward, backward], ignore_index=True)
    directed = directed[~is_source[directed["head"].to_numpy()]]
    arcs = directed[["corridor_id", "tail", "head"]].drop_duplicates().reset_index(drop=True)
    arcs.index.name = "arc"
    directed = directed.merge(arcs.reset_index(), on=["corridor_id", "tail", "head"])
    directed = directed.drop(columns=["u", "v"]).reset_index(drop=True)
    sources = np.flatnonzero(is_source)
    return Instance(network, customers.reset_index(drop=True), limits, node_ids, sources,
                    nodes["spare_capacity_kva"].to_numpy()[sources], demand,
                    customers["node_id"].map(index).to_numpy(), directed, arcs, removed)


def _prune(options: pd.DataFrame, is_customer: np.ndarray, is_source: np.ndarray, n: int):
    """Drop corridors into dead ends: nodes of degree 1 that are neither customer nor source."""
    edges = options.drop_duplicates("corridor_id")[["corridor_id", "u", "v"]]
    alive = set(edges["corridor_id"])
    ends = {row.corridor_id: (row.u, row.v) for row in edges.itertuples()}
    degree = np.zeros(n, dtype=int)
    incident: dict[int, set] = {}
    for cid, (a, b) in ends.items():
        for x in (a, b):
            degree[x] += 1
            incident.setdefault(x, set()).add(cid)
    keep = is_customer | is_source
    stack = [x for x in range(n) if degree[x] == 1 and not keep[x]]
    dropped = []
    while stack:
        x = stack.pop()
        if degree[x] != 1:
            continue
        (cid,) = incident[x]
        alive.discard(cid)
        dropped.append(cid)
        for y in ends[cid]:
            degree[y] -= 1
            incident[y].discard(cid)
            if degree[y] == 1 and not keep[y]:
                stack.append(y)
    return alive, {"dead_end_corridors": len(dropped)}


# --------------------------------------------------------------------------------------- build

def build_model(inst: Instance, formulation: str = "plain", voltage_rows: str = "lazy") -> pyo.ConcreteModel:
    """The Pyomo model; `voltage_rows` is "all" (every arc, big-M) or "lazy" (none until added)."""
    if formulation not in FORMULATIONS:
        raise InputError(f"formulation {formulation!r} is not allowed; allowed: {', '.join(FORMULATIONS)}")
    if voltage_rows not in ("all", "lazy"):
        raise InputError(f"voltage_rows {voltage_rows!r} is not allowed; allowed: all, lazy")
    opt, arcs = inst.options, inst.arcs
    m = pyo.ConcreteModel()
    m.O = pyo.RangeSet(0, len(opt) - 1)
    m.A = pyo.RangeSet(0, len(arcs) - 1)
    m.S = pyo.RangeSet(0, len(inst.sources) - 1)
    m.N = pyo.RangeSet(0, inst.n_nodes - 1)
    cap = opt["capacity_kva"].to_numpy()
    m.w = pyo.Var(m.O, domain=pyo.Binary)
    m.y = pyo.Var(m.S, domain=pyo.Binary)
    m.p = pyo.Var(m.O, bounds=lambda _, o: (0, cap[o]))
    m.u = pyo.Var(m.N, bounds=(0, inst.limits.voltage_deviation_limit_pct))
    cost = opt["cost_cny"].to_numpy()
    m.cost = pyo.Objective(expr=sum(cost[o] * m.w[o] for o in m.O), sense=pyo.minimize)

    by_corridor = opt.groupby("corridor_id").indices
    by_arc = opt.groupby("arc").indices
    m.one_conductor = pyo.Constraint(list(by_corridor), rule=lambda m, c: sum(m.w[o] for o in by_corridor[c]) <= 1)
    m.capacity = pyo.Constraint(m.O, rule=lambda m, o: m.p[o] <= cap[o] * m.w[o])

    into: dict[int, list[int]] = {}
    out_of: dict[int, list[int]] = {}
    for a, (tail, head) in enumerate(zip(arcs["tail"], arcs["head"])):
        into.setdefault(head, []).append(a)
        out_of.setdefault(tail, []).append(a)
    source_pos = {int(n): s for s, n in enumerate(inst.sources)}
    built = {a: sum(m.w[o] for o in by_arc[a]) for a in by_arc}
    flow = {a: sum(m.p[o] for o in by_arc[a]) for a in by_arc}
    demand = inst.demand_kva

    def indegree(m, n):
        total = sum(built[a] for a in into.get(n, [])) + (m.y[source_pos[n]] if n in source_pos else 0)
        if isinstance(total, int):
            return pyo.Constraint.Feasible if demand[n] == 0 else pyo.Constraint.Infeasible
        return total == 1 if demand[n] > 0 else total <= 1
    m.radial = pyo.Constraint(m.N, rule=indegree)

    spare = inst.spare_kva
    if formulation in ("plain", "tree"):
        m.supply = pyo.Var(m.S, bounds=lambda _, s: (0, spare[s]))
        m.source_limit = pyo.Constraint(m.S, rule=lambda m, s: m.supply[s] <= spare[s] * m.y[s])

        def balance(m, n):
            inflow = sum(flow[a] for a in into.get(n, [])) + (m.supply[source_pos[n]] if n in source_pos else 0)
            outflow = sum(flow[a] for a in out_of.get(n, []))
            if isinstance(inflow, int) and isinstance(outflow, int):
                return pyo.Constraint.Feasible if demand[n] == 0 else pyo.Constraint.Infeasible
            return inflow - outflow == demand[n]
        m.balance = pyo.Constraint(m.N, rule=balance)
    else:
        k_nodes = inst.customer_nodes
        d = inst.customers["demand_kva"].to_numpy()
        m.K = pyo.RangeSet(0, len(k_nodes) - 1)
        m.f = pyo.Var(m.K, m.A, bounds=(0, 1))
        m.g = pyo.Var(m.K, m.S, bounds=(0, 1))          # commodity k on root arc r -> s
        m.link = pyo.Constraint(m.K, m.A, rule=lambda m, k, a: m.f[k, a] <= built[a])
        m.root_link = pyo.Constraint(m.K, m.S, rule=lambda m, k, s: m.g[k, s] <= m.y[s])

        def conserve(m, k, n):
            inflow = sum(m.f[k, a] for a in into.get(n, [])) + (m.g[k, source_pos[n]] if n in source_pos else 0)
            outflow = sum(m.f[k, a] for a in out_of.get(n, []))
            rhs = 1 if n == k_nodes[k] else 0
            if isinstance(inflow, int) and isinstance(outflow, int):
                return pyo.Constraint.Feasible if rhs == 0 else pyo.Constraint.Infeasible
            return inflow - outflow == rhs
        m.conserve = pyo.Constraint(m.K, m.N, rule=conserve)
        m.aggregate = pyo.Constraint(m.A, rule=lambda m, a: flow[a] == sum(d[k] * m.f[k, a] for k in m.K))
        m.source_limit = pyo.Constraint(m.S, rule=lambda m, s: sum(d[k] * m.g[k, s] for k in m.K) <= spare[s] * m.y[s])

    if formulation == "tree":
        # a built arc leaves a node only if one enters it (sources excepted), and carries at
        # least its head's demand: part of the commodities' connectivity at little LP cost
        m.fed = pyo.Constraint([a for a in by_arc if int(arcs.at[a, "tail"]) not in source_pos],
                               rule=lambda m, a: built[a] <= sum(built[b] for b in into.get(int(arcs.at[a, "tail"]), [])))
        m.carries = pyo.Constraint([a for a in by_arc if demand[int(arcs.at[a, "head"])] > 0],
                                   rule=lambda m, a: flow[a] >= demand[int(arcs.at[a, "head"])] * built[a])
    m.voltage = pyo.Constraint(pyo.Any)
    m.connectivity = pyo.ConstraintList()    # per-customer cut rows, added by `add_connectivity_cuts`
    m._built, m._flow, m._by_arc = built, flow, by_arc
    if voltage_rows == "all":
        add_voltage_rows(m, inst, range(len(arcs)))
    return m


def add_voltage_rows(m: pyo.ConcreteModel, inst: Instance, arc_ids) -> int:
    """DistFlow rows of the given arcs (skipping those present); returns how many were added."""
    limit = inst.limits.voltage_deviation_limit_pct
    drop = inst.options["drop_pct_per_kva"].to_numpy()
    arcs = inst.arcs
    added = 0
    transformer_arcs = set(inst.options.loc[inst.options["restarts_voltage"], "arc"])
    for a in arc_ids:
        if a in m.voltage or a not in m._by_arc or a in transformer_arcs:
            continue  # a new transformer's secondary starts afresh at nominal voltage
        tail, head = int(arcs.at[a, "tail"]), int(arcs.at[a, "head"])
        m.voltage[a] = m.u[head] >= m.u[tail] + sum(drop[o] * m.p[o] for o in m._by_arc[a]) - limit * (1 - m._built[a])
        added += 1
    return added


def connectivity_cuts(inst: Instance, built: np.ndarray, supplied: np.ndarray, scale: int = 1_000_000) -> list[tuple]:
    """Violated per-customer cut rows at an LP point: (arcs entering S, sources in S) for node sets S that hold a
    customer, where the built arcs into S plus the sources inside S sum to less than 1 (max-flow from a super-root
    over arc capacities `built` and root arcs `supplied`; the back cut of each customer, OR-tools push-relabel)."""
    n = inst.n_nodes
    tail, head = inst.arcs["tail"].to_numpy(), inst.arcs["head"].to_numpy()
    root = n
    tails = np.r_[tail, np.full(len(inst.sources), root)].astype(np.int32)
    heads = np.r_[head, inst.sources].astype(np.int32)
    cap = np.rint(np.clip(np.r_[built, supplied], 0, 1) * scale).astype(np.int64) + 1   # +1: small cuts first
    network = max_flow.SimpleMaxFlow()
    network.add_arcs_with_capacity(tails, heads, cap)
    cuts, seen = [], set()
    for k in sorted(set(int(x) for x in inst.customer_nodes)):
        if network.solve(root, k) != network.OPTIMAL:
            raise RuntimeError(f"max-flow to customer node {k} failed")
        if network.optimal_flow() >= scale:
            continue
        in_s = np.zeros(n + 1, dtype=bool)
        in_s[network.get_sink_side_min_cut()] = True
        entering = np.flatnonzero(in_s[head] & ~in_s[tail])
        inside = np.flatnonzero(in_s[inst.sources])
        if built[entering].sum() + supplied[inside].sum() >= 1 - 1e-6:
            continue
        key = (entering.tobytes(), inside.tobytes())
        if key not in seen:
            seen.add(key)
            cuts.append((entering, inside))
    return cuts


def add_connectivity_cuts(m: pyo.ConcreteModel, solver: Highs, inst: Instance, rounds: int, deadline: float) -> dict:
    """Tighten the LP before the MIP: solve the relaxation, add the violated per-customer cut rows, again (at most
    `rounds` times). The rows hold for every radial design (each customer is fed from a source), so every bound
    stays valid. Returns {rounds, cuts, lp_bound_cny} of the last relaxation."""
    binaries = [*m.w.values(), *m.y.values()]
    for var in binaries:
        var.domain = pyo.UnitInterval
    done, added, lp_bound = 0, 0, None
    arc_of = inst.options["arc"].to_numpy()
    try:
        while done < rounds and time.perf_counter() < deadline:
            solver.config.time_limit = max(deadline - time.perf_counter(), 0.1)
            result = solver.solve(m)
            if result.termination_condition.name != "optimal":
                break
            result.solution_loader.load_vars()
            lp_bound = result.best_objective_bound
            done += 1
            built = np.zeros(len(inst.arcs))
            np.add.at(built, arc_of, [m.w[o].value or 0.0 for o in m.O])
            supplied = np.array([m.y[s].value or 0.0 for s in m.S])
            cuts = connectivity_cuts(inst, built, supplied)
            if not cuts:
                break
            for entering, inside in cuts:
                m.connectivity.add(sum(m._built[int(a)] for a in entering if int(a) in m._built)
                                   + sum(m.y[int(s)] for s in inside) >= 1)
            added += len(cuts)
    finally:
        for var in binaries:
            var.domain = pyo.Binary
    return {"rounds": done, "cuts": added, "lp_bound_cny": lp_bound}


# ------------------------------------------------------------------------------ radial designs

@dataclass
class Tree:
    """A radial design as chosen arc-options; evaluated exactly on the linear model."""

    chosen: list[int]                    # rows of inst.options
    supplied_by: np.ndarray              # per node: source node index or -1
    flow_kva: dict[int, float]           # per chosen option
    drop_pct: np.ndarray                 # per node
    cost_cny: float
    unreached: list[int]                 # customer indices without a path
    overloaded: list[int]                # options above capacity
    over_spare: list[int]                # source positions above spare capacity
    violated: list[int]                  # customer indices above the voltage limit

    @property
    def feasible(self) -> bool:
        return not (self.unreached or self.overloaded or self.over_spare or self.violated)


def evaluate(inst: Instance, chosen) -> Tree:
    """Flows, drops and cost of a set of arc-options forming a forest rooted at sources.

    Options that carry no customer's supply are dropped (an existing cable left open, say).
    """
    opt = inst.options
    tail, head = opt["tail"].to_numpy(), opt["head"].to_numpy()
    per_kva, cap = opt["drop_pct_per_kva"].to_numpy(), opt["capacity_kva"].to_numpy()
    restarts = opt["restarts_voltage"].to_numpy()
    parent = {int(head[o]): int(o) for o in chosen}
    sources = set(int(s) for s in inst.sources)
    demand = inst.demand_kva
    flow: dict[int, float] = {}
    supplied_by = np.full(inst.n_nodes, -1)
    unreached_nodes = set()
    for node in np.flatnonzero(demand > 0):
        path, n, seen = [], int(node), set()
        while n in parent and n not in seen:
            seen.add(n)
            path.append(parent[n])
            n = int(tail[parent[n]])
        if n not in sources:
            unreached_nodes.add(int(node))
            continue
        for o in path:
            flow[o] = flow.get(o, 0.0) + demand[node]
        supplied_by[list(seen | {n})] = n
    children: dict[int, list[int]] = {}
    for o in flow:
        children.setdefault(int(tail[o]), []).append(o)
    drop = np.zeros(inst.n_nodes)
    stack = [s for s in sources if s in children]
    while stack:
        v = stack.pop()
        for o in children.get(v, []):
            drop[head[o]] = 0.0 if restarts[o] else drop[v] + per_kva[o] * flow[o]
            stack.append(int(head[o]))
    overloaded = [o for o, f in flow.items() if f > cap[o] + CAPACITY_TOL_KVA]
    over_spare = []
    for i, s in enumerate(inst.sources):
        if demand[supplied_by == s].sum() > inst.spare_kva[i] + CAPACITY_TOL_KVA:
            over_spare.append(i)
    limit = inst.limits.voltage_deviation_limit_pct
    unreached = [k for k, n in enumerate(inst.customer_nodes) if int(n) in unreached_nodes]
    violated = [k for k, n in enumerate(inst.customer_nodes)
                if int(n) not in unreached_nodes and drop[n] > limit + VOLTAGE_TOL_PCT]
    kept = sorted(flow)
    cost = float(opt["cost_cny"].to_numpy()[kept].sum()) if kept else 0.0
    return Tree(kept, supplied_by, flow, drop, cost, unreached, overloaded, over_spare, violated)


def _adjacency(inst: Instance):
    """node -> list of (arc, head, [options of that arc sorted by cost])."""
    opt = inst.options.sort_values("cost_cny")
    per_arc = opt.groupby("arc", sort=False).apply(lambda g: list(g.index), include_groups=False).to_dict()
    adj: dict[int, list] = {}
    for a, tail, head in zip(inst.arcs.index, inst.arcs["tail"], inst.arcs["head"]):
        if a in per_arc:
            adj.setdefault(int(tail), []).append((int(a), int(head), per_arc[a]))
    return adj, per_arc


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
    arc_of = opt["arc"].to_numpy()
    chosen = list(chosen)
    for _ in range(10 * len(chosen) + 10):
        tree = evaluate(inst, chosen)
        if tree.overloaded or tree.over_spare:
            return None
        if not tree.violated:
            return tree.chosen
        k = tree.violated[0]
        node = int(inst.customer_nodes[k])
        path = []
        parent = {int(opt.at[o, "head"]): o for o in tree.chosen}
        while node in parent:
            path.append(parent[node])
            node = int(opt.at[parent[node], "tail"])
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
    adj, per_arc = _adjacency(inst)
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
        """Cost and conductor changes to carry `extra` more kVA from node up to its source."""
        total, changes = 0.0, []
        while node in parent:
            o = parent[node]
            need = tree.flow_kva.get(o, 0.0) + extra
            if cap[o] + CAPACITY_TOL_KVA < need:
                alt = _cheapest(per_arc[arc_of[o]], need, cap)
                if alt is None:
                    return math.inf, None
                total += cost[alt] - cost[o]
                changes.append((o, alt))
            node = int(tail_of[o])
        return total, changes

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
                c, _ = upgrade_cost(int(v), d)
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
                parent = {int(head_of[o]): o for o in tree.chosen}
                owner = np.where(is_source, np.arange(inst.n_nodes), tree.supplied_by)
                break
        else:
            return None, node
    return (tree.chosen, None) if tree.feasible else (None, None)


def _set_start(m: pyo.ConcreteModel, inst: Instance, chosen: list[int], formulation: str) -> None:
    """Load a radial design into the model's variables as a MIP start."""
    tree = evaluate(inst, chosen)
    opt = inst.options
    for o in m.O:
        m.w[o].set_value(1 if o in tree.flow_kva else 0)
        m.p[o].set_value(tree.flow_kva.get(o, 0.0))
    position = {int(s): i for i, s in enumerate(inst.sources)}
    used = set(int(x) for x in tree.supplied_by if x >= 0)
    for s in m.S:
        m.y[s].set_value(1 if int(inst.sources[s]) in used else 0)
    for n in m.N:
        m.u[n].set_value(min(tree.drop_pct[n], inst.limits.voltage_deviation_limit_pct))
    if formulation in ("plain", "tree"):
        for s in m.S:
            node = int(inst.sources[s])
            m.supply[s].set_value(sum(inst.demand_kva[n] for n in np.flatnonzero(tree.supplied_by == node)))
        return
    parent = {int(opt.at[o, "head"]): o for o in tree.chosen}
    arc_of = opt["arc"].to_numpy()
    for k in m.K:
        for a in m.A:
            m.f[k, a].set_value(0)
        for s in m.S:
            m.g[k, s].set_value(0)
        n = int(inst.customer_nodes[k])
        while n in parent:
            o = parent[n]
            m.f[k, int(arc_of[o])].set_value(1)
            n = int(opt.at[o, "tail"])
        m.g[k, position[n]].set_value(1)


def _chosen_from_model(m: pyo.ConcreteModel) -> list[int]:
    return [o for o in m.O if m.w[o].value is not None and m.w[o].value > 0.5]


# --------------------------------------------------------------------------------------- solve

PROGRESS_EVERY_S = 0.5   # how often a progress display is refreshed; not a result, just its pace


class _ProgressFeed:
    """Incumbent, bound and gap for `solve(on_progress=...)`, from the heuristics and from HiGHS' MIP callback.

    Pyomo's appsi interface has no callback hook of its own: the feed subscribes to the MIP-interrupt callback of
    the highspy object appsi keeps (`Highs._solver_model`, set by `set_instance`), which HiGHS calls between
    branch-and-bound steps with its primal and dual bounds. The incumbent shown is the better of the designs
    checked so far and the current solve's own (with lazy voltage rows, the latter may still break a limit
    that a later round adds); the bound is the best valid one.
    """

    def __init__(self, on_progress: Callable[[dict], None] | None, start: float):
        self.on_progress, self.start, self.last = on_progress, start, -math.inf
        self.checked: float | None = None        # cost of the best design checked against every limit
        self.round_primal: float | None = None   # the current solve's incumbent
        self.bound: float | None = None

    def listen(self, solver: Highs) -> None:
        solver._solver_model.cbMipInterrupt.subscribe(self._from_highs)

    def new_round(self, checked: float | None, bound: float | None) -> None:
        self.checked, self.round_primal = checked, None
        self.bound = bound if self.bound is None or bound is None else max(self.bound, bound)

    def _from_highs(self, event) -> None:
        primal, dual = event.data_out.mip_primal_bound, event.data_out.mip_dual_bound
        if math.isfinite(primal):
            self.round_primal = primal
        if math.isfinite(dual):
            self.bound = dual if self.bound is None else max(self.bound, dual)
        self.send()

    def send(self, force: bool = False) -> None:
        now = time.perf_counter() - self.start
        if self.on_progress is None or (not force and now - self.last < PROGRESS_EVERY_S):
            return
        self.last = now
        known = [c for c in (self.checked, self.round_primal) if c is not None]
        incumbent = min(known) if known else None
        gap = None
        if incumbent is not None and self.bound is not None:
            gap = max(0.0, (incumbent - self.bound) / max(abs(incumbent), 1e-9))
        self.on_progress({"seconds": now, "incumbent_cny": incumbent, "bound_cny": self.bound, "gap": gap})


@dataclass
class SolveResult:
    status: str                    # optimal | feasible | no_solution | infeasible | solver_unavailable
    objective_cny: float | None
    bound_cny: float | None
    gap: float | None
    seconds: float
    chosen: list[int] | None
    iterations: int
    voltage_rows: int
    warm_start_cny: float | None
    diagnosis: list[str]
    log: list[dict]
    stopped: str = ""              # a feasible design: time_limit (out of time) or gap_limit (within the gap asked for)


def solve(inst: Instance, time_limit_s: float = 60.0, mip_gap: float = 0.005, *,
          formulation: str = "plain", voltage_rows: str = "lazy", warm_start: bool = True,
          threads: int | None = None, log_file: str = "", on_progress: Callable[[dict], None] | None = None,
          cut_rounds: int = 0) -> SolveResult:
    """Solve to `mip_gap` within `time_limit_s` (all row-generation rounds together).

    `on_progress`, if given, is called with {seconds, incumbent_cny, bound_cny, gap} (None where unknown) after
    the warm start and during each MIP solve, at most every PROGRESS_EVERY_S seconds (see `_ProgressFeed`).
    """
    start = time.perf_counter()
    log: list[dict] = []
    if len(inst.customers) == 0:
        return SolveResult("optimal", 0.0, 0.0, 0.0, 0.0, [], 0, 0, None, [], log)
    quick = diagnose_alone(inst)
    if quick:
        return SolveResult("infeasible", None, None, None, time.perf_counter() - start, None, 0, 0, None, quick, log)
    incumbent = greedy_design(inst) if warm_start else None
    incumbent_cost = evaluate(inst, incumbent).cost_cny if incumbent is not None else None
    warm_cost = incumbent_cost
    log.append({"step": "warm_start", "seconds": time.perf_counter() - start, "objective_cny": incumbent_cost})
    feed = _ProgressFeed(on_progress, start)
    feed.new_round(incumbent_cost, None)
    feed.send(force=True)
    m = build_model(inst, formulation, voltage_rows)
    log.append({"step": "build", "seconds": time.perf_counter() - start})
    solver = Highs()
    if not solver.available():
        return SolveResult("solver_unavailable", incumbent_cost, None, None, time.perf_counter() - start, incumbent, 0, 0,
                           warm_cost, ["the HiGHS solver is not available (install highspy): the design is the heuristic "
                                       "warm start, feasible but not proven optimal"], log)
    solver.config.load_solution = False
    solver.config.stream_solver = False
    if log_file:
        solver.config.logfile = log_file
    if threads:
        solver.highs_options = {"threads": threads}
    if on_progress is not None:
        solver.set_instance(m)
        feed.listen(solver)
    bound, status, iterations = None, None, 0
    if cut_rounds:
        cut_log = add_connectivity_cuts(m, solver, inst, cut_rounds, start + time_limit_s)
        log.append({"step": "connectivity cuts", "seconds": time.perf_counter() - start} | cut_log)
    while True:
        remaining = time_limit_s - (time.perf_counter() - start)
        if remaining <= 0.5:
            status = "time_limit"
            break
        iterations += 1
        solver.config.time_limit = remaining
        solver.config.mip_gap = mip_gap
        solver.config.warmstart = incumbent is not None
        if incumbent is not None:
            _set_start(m, inst, incumbent, formulation)
        feed.new_round(incumbent_cost, bound)
        result = solver.solve(m)
        tc = result.termination_condition
        found = result.best_feasible_objective is not None and math.isfinite(result.best_feasible_objective)
        round_bound = result.best_objective_bound
        if round_bound is not None and math.isfinite(round_bound):
            bound = round_bound if bound is None else max(bound, round_bound)
        log.append({"step": f"solve {iterations}", "seconds": time.perf_counter() - start,
                    "termination": str(tc), "objective_cny": result.best_feasible_objective, "bound_cny": round_bound})
        if tc.name == "infeasible":
            if incumbent is not None:  # cannot happen for a relaxation; keep the proof honest
                raise RuntimeError("the model is infeasible although a feasible design is known")
            status = "infeasible"
            break
        if not found:
            status = "time_limit"
            break
        result.solution_loader.load_vars()
        chosen = _chosen_from_model(m)
        tree = evaluate(inst, chosen)
        if tree.unreached or tree.overloaded or tree.over_spare:
            raise RuntimeError(f"solver result is not a feasible radial design: {tree}")
        if tree.violated:
            nodes = set()
            opt = inst.options
            parent = {int(opt.at[o, "head"]): o for o in tree.chosen}
            for k in tree.violated:
                n = int(inst.customer_nodes[k])
                nodes.add(n)
                while n in parent:
                    n = int(opt.at[parent[n], "tail"])
                    nodes.add(n)
            rows = inst.arcs.index[inst.arcs["head"].isin(nodes)]
            added = add_voltage_rows(m, inst, rows)
            repaired = repair_voltage(inst, tree.chosen)
            if repaired is not None:
                cost = evaluate(inst, repaired).cost_cny
                if incumbent_cost is None or cost < incumbent_cost:
                    incumbent, incumbent_cost = repaired, cost
            log[-1].update(violated=len(tree.violated), rows_added=added)
            if added == 0:
                raise RuntimeError("voltage violated on arcs whose rows are present")
            continue
        if incumbent_cost is None or tree.cost_cny <= incumbent_cost + 1e-6:
            incumbent, incumbent_cost = tree.chosen, tree.cost_cny
        status = "optimal" if tc.name == "optimal" else "time_limit"
        break
    seconds = time.perf_counter() - start
    feed.new_round(incumbent_cost, bound)
    feed.send(force=True)
    if status == "infeasible":
        return SolveResult("infeasible", None, bound, None, seconds, None, iterations, len(m.voltage), warm_cost,
                           diagnose_jointly(inst), log)
    if incumbent is None:
        return SolveResult("no_solution", None, bound, None, seconds, None, iterations, len(m.voltage), warm_cost,
                           [f"no feasible design found within the time limit of {time_limit_s:g} s"], log)
    gap = None if bound is None else max(0.0, (incumbent_cost - bound) / max(abs(incumbent_cost), 1e-9))
    # "optimal" within the default tolerance only, whatever gap was asked for; otherwise "feasible" and why it stopped
    reported = status_of(gap, NETWORK_GAP)
    stopped = "" if reported == "optimal" else "gap_limit" if status == "optimal" else status
    return SolveResult(reported, incumbent_cost, bound, gap, seconds, incumbent, iterations,
                       len(m.voltage), warm_cost, [], log, stopped)


# ----------------------------------------------------------------------------------- diagnosis

def _customer_label(inst: Instance, k: int) -> str:
    row = inst.customers.iloc[k]
    return f"customer {row['application_id']} (node {row['node_id']}, {row['demand_kva']:g} kVA)"


def _limit_label(inst: Instance) -> str:
    ref = inst.limits.references.get("grid.voltage_deviation_limit", "")
    return f"the voltage-drop limit of {inst.limits.voltage_deviation_limit_pct:g}% (grid.voltage_deviation_limit: {ref})"


def _option_label(inst: Instance, o: int) -> str:
    row = inst.options.loc[o]
    if row["element"] == "transformer":
        return (f"the largest transformer size at candidate site {row['to_node']} ({row['std_type']}, "
                f"{row['capacity_kva']:g} kVA)")
    return f"the largest conductor on corridor {row['corridor_id']} ({row['std_type']}, {row['capacity_kva']:.0f} kVA)"


def diagnose_alone(inst: Instance) -> list[str]:
    """Per customer, on its own: reachability, then capacity alone, then voltage alone."""
    opt = inst.options
    cap, per_kva = opt["capacity_kva"].to_numpy(), opt["drop_pct_per_kva"].to_numpy()
    restarts = opt["restarts_voltage"].to_numpy()
    adj, _ = _adjacency(inst)
    problems = []
    limit = inst.limits.voltage_deviation_limit_pct
    for k, node in enumerate(inst.customer_nodes):
        node = int(node)
        d = inst.customers["demand_kva"].iloc[k]
        reachable = {}
        best_width, best_bottleneck = 0.0, ""
        best_drop = math.inf
        for s, spare in zip(inst.sources, inst.spare_kva):
            # widest path (capacity), remembering its bottleneck, and least-drop path with
            # conductors able to carry d (a new transformer's secondary starts at 0 drop)
            width = {int(s): spare}
            bottleneck = {int(s): f"the spare capacity of {inst.node_ids[int(s)]} ({spare:g} kVA)"}
            heap = [(-spare, int(s))]
            while heap:
                w, v = heapq.heappop(heap)
                w = -w
                if w < width.get(v, 0):
                    continue
                for _, x, opts in adj.get(v, []):
                    widest = max(opts, key=lambda o: cap[o])
                    cand = min(w, cap[widest])
                    if cand > width.get(x, 0):
                        width[x] = cand
                        bottleneck[x] = bottleneck[v] if cap[widest] >= w else _option_label(inst, widest)
                        heapq.heappush(heap, (-cand, x))
            if node in width:
                reachable[int(s)] = width[node]
                if width[node] > best_width:
                    best_width, best_bottleneck = width[node], bottleneck[node]
            dist = {int(s): 0.0}
            heap = [(0.0, int(s))]
            while heap:
                c, v = heapq.heappop(heap)
                if c > dist.get(v, math.inf):
                    continue
                for _, x, opts in adj.get(v, []):
                    able = [per_kva[o] for o in opts if cap[o] + CAPACITY_TOL_KVA >= d]
                    reached = 0.0 if restarts[opts[0]] else c + min(able, default=0.0) * d
                    if able and reached < dist.get(x, math.inf):
                        dist[x] = reached
                        heapq.heappush(heap, (dist[x], x))
            best_drop = min(best_drop, dist.get(node, math.inf))
        if not reachable:
            problems.append(f"{_customer_label(inst, k)} cannot be reached: no corridor path from any source "
                            "with spare capacity (feeder point, substation or public transformer)")
        elif best_width + CAPACITY_TOL_KVA < d:
            problems.append(f"{_customer_label(inst, k)} cannot be supplied under the capacity limits: at most "
                            f"{best_width:.0f} kVA reach it, limited by {best_bottleneck} (the largest allowed "
                            "conductor or transformer on every route and the spare capacity of every reachable source)")
        elif best_drop > limit + VOLTAGE_TOL_PCT:
            problems.append(f"{_customer_label(inst, k)} cannot be supplied within {_limit_label(inst)}: "
                            f"the least possible drop on any route with the largest conductors is {best_drop:.2f}%")
    return problems


def diagnose_jointly(inst: Instance) -> list[str]:
    """Every customer is feasible alone: name the binding limit of the group."""
    total = inst.customers["demand_kva"].sum()
    spare = inst.spare_kva.sum()
    if total > spare + CAPACITY_TOL_KVA:
        return [f"the customers together need {total:.0f} kVA but all sources together have {spare:.0f} kVA spare capacity"]
    relaxed = Instance(**{**inst.__dict__, "limits": GridLimits(1e9, inst.limits.power_factor, inst.limits.references)})
    capacity_only = solve(relaxed, time_limit_s=30, mip_gap=1.0, voltage_rows="lazy", warm_start=False)
    names = ", ".join(f"{r.application_id} (node {r.node_id}, {r.demand_kva:g} kVA)" for r in inst.customers.itertuples())
    if capacity_only.status == "infeasible":
        return [f"each customer can be supplied alone, but not all of them together under the capacity limits "
                f"(conductor ampacity, transformer sizes and the spare capacity of the sources): {names}"]
    tree = evaluate(inst, capacity_only.chosen)
    worst = [_customer_label(inst, k) for k in tree.violated] or names
    return [f"each customer can be supplied alone and all together within the capacity limits, but no radial "
            f"design keeps every drop within {_limit_label(inst)}; the capacity-only design exceeds it at: "
            f"{'; '.join(worst) if isinstance(worst, list) else worst}"]


# ------------------------------------------------------------------------------------- extract

@dataclass
class Design:
    """The chosen design.

    corridors: one row per built corridor, oriented from its source (flow_kva, loading_pct, change:
    new | reinforced | existing); nodes: supplied nodes with their source and linear drop; sources:
    load against spare capacity; customers: the input customers with source and drop; usage: which
    corridors (and new transformers, as "<site>:transformer") carry each customer's supply
    (application_id, node_id, corridor_id, demand_kva); report: status, objective, bound, gap,
    seconds, diagnosis, ...; transformers: new transformers chosen (corridor_id, node_id, hv_node,
    std_type, rating_kva, flow_kva, loading_pct, cost_cny, change "new").
    """

    corridors: pd.DataFrame
    nodes: pd.DataFrame
    sources: pd.DataFrame
    customers: pd.DataFrame
    usage: pd.DataFrame
    report: dict
    transformers: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=TRANSFORMER_COLUMNS))


def extract(inst: Instance, result: SolveResult) -> Design:
    report = {"status": result.status, "summary": summary(result.status, result.gap), "stopped": result.stopped,
              "objective_cny": result.objective_cny, "bound_cny": result.bound_cny,
              "gap": result.gap, "seconds": result.seconds, "iterations": result.iterations,
              "voltage_rows": result.voltage_rows, "warm_start_cny": result.warm_start_cny,
              "diagnosis": result.diagnosis, "removed": inst.removed, "solver": f"HiGHS {_highs_version()} via Pyomo appsi",
              "voltage_limit_pct": inst.limits.voltage_deviation_limit_pct, "power_factor": inst.limits.power_factor,
              "references": inst.limits.references}
    chosen = result.chosen or []
    tree = evaluate(inst, chosen)
    ids = np.array(inst.node_ids)
    flow_of = pd.Series(tree.flow_kva, dtype=float)
    picked = inst.options.loc[tree.chosen].assign(flow_kva=flow_of.reindex(tree.chosen).to_numpy())
    new_transformers = picked[picked["element"] == "transformer"]
    transformers = pd.DataFrame({
        "corridor_id": new_transformers["corridor_id"].to_numpy(), "node_id": ids[new_transformers["head"].to_numpy()],
        "hv_node": ids[new_transformers["tail"].to_numpy()], "std_type": new_transformers["std_type"].to_numpy(),
        "rating_kva": new_transformers["capacity_kva"].to_numpy(), "flow_kva": new_transformers["flow_kva"].to_numpy(),
        "loading_pct": (new_transformers["flow_kva"] / new_transformers["capacity_kva"] * 100).to_numpy(),
        "cost_cny": new_transformers["cost_cny"].to_numpy(), "change": "new"}, columns=TRANSFORMER_COLUMNS)
    opt = picked[picked["element"] == "line"]
    change = np.where(opt["status"] == "candidate", "new", np.where(opt["installed"], "existing", "reinforced"))
    flows = opt["flow_kva"].to_numpy()
    multiplier = inst.network.corridors["cost_multiplier"]
    corridors = pd.DataFrame({
        "corridor_id": opt["corridor_id"].to_numpy(), "from_node": ids[opt["tail"].to_numpy()],
        "to_node": ids[opt["head"].to_numpy()], "std_type": opt["std_type"].to_numpy(),
        "status": opt["status"].to_numpy(), "change": change, "length_km": opt["length_km"].to_numpy(),
        "cost_multiplier": multiplier.loc[opt["corridor_id"]].to_numpy(),
        "cost_cny": opt["cost_cny"].to_numpy(), "flow_kva": flows, "capacity_kva": opt["capacity_kva"].to_numpy()})
    corridors["loading_pct"] = corridors["flow_kva"] / corridors["capacity_kva"] * 100
    used = np.flatnonzero(tree.supplied_by >= 0)
    nodes = pd.DataFrame({"node_id": ids[used], "kind": inst.network.nodes["kind"].to_numpy()[used],
                          "source_node": ids[tree.supplied_by[used]], "drop_pct": tree.drop_pct[used]})
    nodes["voltage_pu_linear"] = 1 - nodes["drop_pct"] / 100
    load = pd.Series(inst.demand_kva[used], index=nodes["source_node"].to_numpy()).groupby(level=0).sum()
    sources = pd.DataFrame({"node_id": load.index, "load_kva": load.to_numpy(),
                            "spare_capacity_kva": inst.network.nodes.loc[load.index, "spare_capacity_kva"].to_numpy()})
    supplied = tree.supplied_by[inst.customer_nodes]
    customers = inst.customers.assign(
        source_node=np.where(supplied >= 0, ids[np.maximum(supplied, 0)], None),
        drop_pct=np.where(supplied >= 0, tree.drop_pct[inst.customer_nodes], np.nan))
    parent = {int(inst.options.at[o, "head"]): o for o in tree.chosen}
    rows = []
    for k, node in enumerate(inst.customer_nodes):
        n = int(node)
        while n in parent:
            o = parent[n]
            rows.append((k, inst.options.at[o, "corridor_id"]))
            n = int(inst.options.at[o, "tail"])
    usage = pd.DataFrame(rows, columns=["k", "corridor_id"])
    usage = inst.customers.loc[usage["k"], ["application_id", "node_id", "demand_kva"]].reset_index(drop=True).assign(
        corridor_id=usage["corridor_id"].to_numpy())
    if result.chosen is not None:
        report["objective_cny"] = tree.cost_cny
    return Design(corridors, nodes, sources, customers, usage, report, transformers)


def _highs_version() -> str:
    """From the package metadata: constructing a highspy.Highs() to ask prints HiGHS' banner on stdout."""
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("highspy")
    except PackageNotFoundError:
        return "unknown"
