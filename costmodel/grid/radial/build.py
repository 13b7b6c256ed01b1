"""Building the Pyomo model of a radial extension, and the rows added to it while solving.

Variables (one directed arc per corridor direction, never into a source):
  build[o]        arc-option o (tail -> head with std_type t) is built;  sum over a corridor <= 1
  use_source[s]   source s (feeder bay / transformer) supplies;            root arc r -> s
  flow_kva[o]     kVA on arc-option o;  flow_kva[o] <= min(capacity[o], largest spare) build[o]
  drop_pct[n]     linearised voltage drop at n in percent of nominal (DistFlow, one-sided):
                  drop[head] >= drop[tail] + sum_t drop_per_kva[o] flow[o] - limit (1 - sum_t build[a, t]), drop <= limit
  in-degree of every node <= 1 (radial), = 1 at customers; supply of s <= spare[s] use_source[s];
  a source the others' spare cannot do without is used and builds an arc out of it.
  A candidate transformer site has no voltage row: its secondary starts afresh at nominal voltage (the AC check
  makes it a source).
Formulations (FORMULATIONS; chosen by measurement in benchmarks/park_grid.py, docs/performance.md):
  plain           aggregate flow balance (default: fastest measured on the park grids)
  tree            plain + "a built arc leaves only a fed node" + "an arc into a customer carries at
                  least its demand"
  multicommodity  one commodity per customer, share[k, a] <= sum_t build[a, t] (tightest LP, but the LP
                  of a 12x12 park with 20 plots does not finish in 30 s here)
"""

from __future__ import annotations

import time

import numpy as np
import pyomo.environ as pyo
from ortools.graph.python import max_flow
from pyomo.contrib.appsi.solvers import Highs

from costmodel.errors import InputError
from costmodel.grid.radial.data import CAPACITY_TOL_KVA, Instance
from costmodel.grid.radial.steiner_reductions import unneeded_corridors

FORMULATIONS = ("tree", "multicommodity", "plain")


def build_model(inst: Instance, formulation: str = "plain", voltage_rows: str = "lazy") -> pyo.ConcreteModel:
    """The Pyomo model; `voltage_rows` is "all" (every arc, big-M) or "lazy" (none until added)."""
    if formulation not in FORMULATIONS:
        raise InputError(f"formulation {formulation!r} is not allowed; allowed: {', '.join(FORMULATIONS)}")
    if voltage_rows not in ("all", "lazy"):
        raise InputError(f"voltage_rows {voltage_rows!r} is not allowed; allowed: all, lazy")
    opt, arcs = inst.options, inst.arcs
    m = pyo.ConcreteModel()
    m.options = pyo.RangeSet(0, len(opt) - 1)
    m.arcs = pyo.RangeSet(0, len(arcs) - 1)
    m.sources = pyo.RangeSet(0, len(inst.sources) - 1)
    m.nodes = pyo.RangeSet(0, inst.n_nodes - 1)
    # a radial design feeds each arc from one source, so no arc carries more than the largest spare capacity:
    # the tighter row raises the LP bound (16 x 16 park's root LP +2.1 %, docs/performance.md)
    cap = np.minimum(opt["capacity_kva"].to_numpy(), inst.spare_kva.max(initial=0.0))
    m.build = pyo.Var(m.options, domain=pyo.Binary)
    # where nothing can bind, corridors the Steiner reductions show no cheapest design needs are never built (an
    # upper bound: fix-and-optimise's unfix leaves it); reported with the instance's other reductions
    unneeded = unneeded_corridors(inst)
    for o in np.flatnonzero(opt["corridor_id"].isin(unneeded).to_numpy()).tolist():
        m.build[o].setub(0)
    inst.removed["steiner_reductions"] = len(unneeded)
    m.use_source = pyo.Var(m.sources, domain=pyo.Binary)
    m.flow_kva = pyo.Var(m.options, bounds=lambda _, o: (0, cap[o]))
    m.drop_pct = pyo.Var(m.nodes, bounds=(0, inst.limits.voltage_deviation_limit_pct))
    cost = opt["cost_cny"].to_numpy()
    m.cost_cny = pyo.Objective(expr=sum(cost[o] * m.build[o] for o in m.options), sense=pyo.minimize)

    by_corridor = opt.groupby("corridor_id").indices
    by_arc = opt.groupby("arc").indices
    m.one_option_per_corridor = pyo.Constraint(list(by_corridor), rule=lambda m, c: sum(m.build[o] for o in by_corridor[c]) <= 1)
    m.flow_within_rating_kva = pyo.Constraint(m.options, rule=lambda m, o: m.flow_kva[o] <= cap[o] * m.build[o])

    into: dict[int, list[int]] = {}
    out_of: dict[int, list[int]] = {}
    for a, (tail, head) in enumerate(zip(arcs["tail"], arcs["head"])):
        into.setdefault(head, []).append(a)
        out_of.setdefault(tail, []).append(a)
    source_pos = {int(n): s for s, n in enumerate(inst.sources)}
    built = {a: sum(m.build[o] for o in by_arc[a]) for a in by_arc}
    flow = {a: sum(m.flow_kva[o] for o in by_arc[a]) for a in by_arc}
    demand = inst.demand_kva

    def indegree(m, n):
        total = sum(built[a] for a in into.get(n, [])) + (m.use_source[source_pos[n]] if n in source_pos else 0)
        if isinstance(total, int):
            return pyo.Constraint.Feasible if demand[n] == 0 else pyo.Constraint.Infeasible
        return total == 1 if demand[n] > 0 else total <= 1
    m.one_feed_per_node = pyo.Constraint(m.nodes, rule=indegree)

    spare = inst.spare_kva
    if formulation in ("plain", "tree"):
        m.supply_kva = pyo.Var(m.sources, bounds=lambda _, s: (0, spare[s]))
        m.supply_within_spare_kva = pyo.Constraint(m.sources, rule=lambda m, s: m.supply_kva[s] <= spare[s] * m.use_source[s])

        def balance(m, n):
            inflow = sum(flow[a] for a in into.get(n, [])) + (m.supply_kva[source_pos[n]] if n in source_pos else 0)
            outflow = sum(flow[a] for a in out_of.get(n, []))
            if isinstance(inflow, int) and isinstance(outflow, int):
                return pyo.Constraint.Feasible if demand[n] == 0 else pyo.Constraint.Infeasible
            return inflow - outflow == demand[n]
        m.flow_balance_kva = pyo.Constraint(m.nodes, rule=balance)
    else:
        k_nodes = inst.customer_nodes
        d = inst.customers["demand_kva"].to_numpy()
        m.customers = pyo.RangeSet(0, len(k_nodes) - 1)
        m.share = pyo.Var(m.customers, m.arcs, bounds=(0, 1))   # of customer k's supply on arc a
        m.root_share = pyo.Var(m.customers, m.sources, bounds=(0, 1))   # on root arc r -> s
        m.share_on_built_arc = pyo.Constraint(m.customers, m.arcs, rule=lambda m, k, a: m.share[k, a] <= built[a])
        m.root_share_on_used_source = pyo.Constraint(m.customers, m.sources, rule=lambda m, k, s: m.root_share[k, s] <= m.use_source[s])

        def conserve(m, k, n):
            inflow = sum(m.share[k, a] for a in into.get(n, [])) + (m.root_share[k, source_pos[n]] if n in source_pos else 0)
            outflow = sum(m.share[k, a] for a in out_of.get(n, []))
            rhs = 1 if n == k_nodes[k] else 0
            if isinstance(inflow, int) and isinstance(outflow, int):
                return pyo.Constraint.Feasible if rhs == 0 else pyo.Constraint.Infeasible
            return inflow - outflow == rhs
        m.share_conservation = pyo.Constraint(m.customers, m.nodes, rule=conserve)
        m.flow_from_shares_kva = pyo.Constraint(m.arcs, rule=lambda m, a: flow[a] == sum(d[k] * m.share[k, a] for k in m.customers))
        m.supply_within_spare_kva = pyo.Constraint(m.sources, rule=lambda m, s: sum(d[k] * m.root_share[k, s] for k in m.customers) <= spare[s] * m.use_source[s])

    # a source the others' spare capacity cannot do without supplies, through a built arc: a whole arc in the LP
    # where the flow alone would build a fraction of one (16 x 16 park's root LP +1.5 %, docs/performance.md)
    needed = [s for s in m.sources if spare.sum() - spare[s] < demand.sum() - CAPACITY_TOL_KVA]
    for s in needed:
        m.use_source[s].setlb(1)

    def builds_an_arc(m, s):
        leaving = [built[a] for a in out_of.get(int(inst.sources[s]), []) if a in built]
        return sum(leaving) >= 1 if leaving else pyo.Constraint.Infeasible
    m.needed_source_builds_an_arc = pyo.Constraint(needed, rule=builds_an_arc)
    if formulation == "tree":
        # a built arc leaves a node only if one enters it (sources excepted), and carries at
        # least its head's demand: part of the commodities' connectivity at little LP cost
        m.leaves_only_a_fed_node = pyo.Constraint([a for a in by_arc if int(arcs.at[a, "tail"]) not in source_pos],
                               rule=lambda m, a: built[a] <= sum(built[b] for b in into.get(int(arcs.at[a, "tail"]), [])))
        m.carries_head_demand_kva = pyo.Constraint([a for a in by_arc if demand[int(arcs.at[a, "head"])] > 0],
                                   rule=lambda m, a: flow[a] >= demand[int(arcs.at[a, "head"])] * built[a])
    m.voltage_drop_pct = pyo.Constraint(pyo.Any)
    m.customer_cut = pyo.ConstraintList()    # per-customer cut rows, added by `add_connectivity_cuts`
    m.arc_built, m.arc_flow_kva, m.options_of_arc = built, flow, by_arc   # expressions per arc, for the rows added later
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
        if a in m.voltage_drop_pct or a not in m.options_of_arc or a in transformer_arcs:
            continue  # a new transformer's secondary starts afresh at nominal voltage
        tail, head = int(arcs.at[a, "tail"]), int(arcs.at[a, "head"])
        m.voltage_drop_pct[a] = (m.drop_pct[head] >= m.drop_pct[tail] + sum(drop[o] * m.flow_kva[o] for o in m.options_of_arc[a])
                                  - limit * (1 - m.arc_built[a]))
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
    binaries = [*m.build.values(), *m.use_source.values()]
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
            np.add.at(built, arc_of, [m.build[o].value or 0.0 for o in m.options])
            supplied = np.array([m.use_source[s].value or 0.0 for s in m.sources])
            cuts = connectivity_cuts(inst, built, supplied)
            if not cuts:
                break
            for entering, inside in cuts:
                m.customer_cut.add(sum(m.arc_built[int(a)] for a in entering if int(a) in m.arc_built)
                                   + sum(m.use_source[int(s)] for s in inside) >= 1)
            added += len(cuts)
    finally:
        for var in binaries:
            var.domain = pyo.Binary
    return {"rounds": done, "cuts": added, "lp_bound_cny": lp_bound}

