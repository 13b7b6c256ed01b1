"""The data of a radial design problem: the indexed instance, and a design evaluated exactly on the linear model.

An `Instance` orients every corridor both ways (never into a source), one row per directed arc-option (arc x
std_type); a candidate transformer site is one arc hv_node -> site whose options are the catalogue's sizes. A
`Tree` is a set of chosen arc-options with its flows, linear drops (DistFlow, one-sided) and cost.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from costmodel.grid.network import SOURCE_KINDS, GridLimits, Network

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

    # plan to the rating times the planning loading limit; `rating_kva` keeps the rating for the loadings shown
    options["rating_kva"] = options["capacity_kva"]
    options["capacity_kva"] = options["rating_kva"] * limits.loading_limit_pct / 100.0
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
    parent = tree_parent(inst, chosen)
    sources = set(int(s) for s in inst.sources)
    demand = inst.demand_kva
    flow: dict[int, float] = {}
    supplied_by = np.full(inst.n_nodes, -1)
    unreached_nodes = set()
    for node in np.flatnonzero(demand > 0):
        path, root = path_to_root(parent, tail, int(node))
        if root not in sources:
            unreached_nodes.add(int(node))
            continue
        for o in path:
            flow[o] = flow.get(o, 0.0) + demand[node]
        supplied_by[[int(node), *(int(tail[o]) for o in path)]] = root
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


def tree_parent(inst: Instance, chosen) -> dict[int, int]:
    """head node -> the chosen arc-option that feeds it."""
    head = inst.options["head"].to_numpy()
    return {int(head[o]): int(o) for o in chosen}


def path_to_root(parent: dict[int, int], tail: np.ndarray, node: int) -> tuple[list[int], int]:
    """The arc-options from `node` up its tree (`parent`: head node -> option, `tail`: option -> tail node), and
    the node where the walk ends: a source, or a node without a feed. A cycle ends the walk where it closes."""
    path, seen = [], {node}
    while node in parent:
        option = parent[node]
        node = int(tail[option])
        path.append(option)
        if node in seen:
            break
        seen.add(node)
    return path, node


def adjacency(inst: Instance):
    """node -> list of (arc, head, [options of that arc sorted by cost])."""
    opt = inst.options.sort_values("cost_cny")
    per_arc = opt.groupby("arc", sort=False).apply(lambda g: list(g.index), include_groups=False).to_dict()
    adj: dict[int, list] = {}
    for a, tail, head in zip(inst.arcs.index, inst.arcs["tail"], inst.arcs["head"]):
        if a in per_arc:
            adj.setdefault(int(tail), []).append((int(a), int(head), per_arc[a]))
    return adj, per_arc
