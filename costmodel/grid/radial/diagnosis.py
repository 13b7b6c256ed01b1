"""Why an instance has no feasible design, in words a planner can act on: the customer and the limit.

`diagnose_alone` looks at each customer by itself (reachability, then capacity, then voltage); when each is
feasible alone, `diagnose_jointly` names the limit that binds the group.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import replace

from costmodel.grid.radial.data import CAPACITY_TOL_KVA, VOLTAGE_TOL_PCT, Instance, adjacency, evaluate
from costmodel.grid.radial.solver import solve


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
    adj, _ = adjacency(inst)
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
    relaxed = replace(inst, limits=replace(inst.limits, voltage_deviation_limit_pct=math.inf))
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
