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
from costmodel.messages import Reason, joined


def _customer_label(inst: Instance, k: int, key: str = "diag.customer") -> Reason:
    row = inst.customers.iloc[k]
    return Reason(key, application_id=row["application_id"], node_id=row["node_id"], demand_kva=row["demand_kva"])


def _limit_label(inst: Instance) -> Reason:
    return Reason("diag.voltage_limit", limit_pct=inst.limits.voltage_deviation_limit_pct,
                  reference=inst.limits.references.get("grid.voltage_deviation_limit", ""))


def _option_label(inst: Instance, o: int) -> Reason:
    row = inst.options.loc[o]
    if row["element"] == "transformer":
        return Reason("diag.largest_transformer", site=row["to_node"], std_type=row["std_type"], capacity_kva=row["capacity_kva"])
    return Reason("diag.largest_conductor", corridor=row["corridor_id"], std_type=row["std_type"], capacity_kva=row["capacity_kva"])


def diagnose_alone(inst: Instance) -> list[Reason]:
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
        best_width, best_bottleneck = 0.0, None
        best_drop = math.inf
        for s, spare in zip(inst.sources, inst.spare_kva):
            # widest path (capacity), remembering its bottleneck, and least-drop path with
            # conductors able to carry d (a new transformer's secondary starts at 0 drop)
            width = {int(s): spare}
            bottleneck = {int(s): Reason("diag.source_spare", source=inst.node_ids[int(s)], spare_kva=spare)}
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
            problems.append(Reason("diag.unreachable", customer=_customer_label(inst, k)))
        elif best_width + CAPACITY_TOL_KVA < d:
            problems.append(Reason("diag.capacity_alone", customer=_customer_label(inst, k), width_kva=best_width,
                                   bottleneck=best_bottleneck))
        elif best_drop > limit + VOLTAGE_TOL_PCT:
            problems.append(Reason("diag.voltage_alone", customer=_customer_label(inst, k), limit=_limit_label(inst),
                                   drop_pct=best_drop))
    return problems


def diagnose_jointly(inst: Instance) -> list[Reason]:
    """Every customer is feasible alone: name the binding limit of the group."""
    total = inst.customers["demand_kva"].sum()
    spare = inst.spare_kva.sum()
    if total > spare + CAPACITY_TOL_KVA:
        return [Reason("diag.total_spare", total_kva=total, spare_kva=spare)]
    relaxed = replace(inst, limits=replace(inst.limits, voltage_deviation_limit_pct=math.inf))
    capacity_only = solve(relaxed, time_limit_s=30, mip_gap=1.0, voltage_rows="lazy", warm_start=False)
    names = joined([_customer_label(inst, k, "diag.customer_short") for k in range(len(inst.customers))], ", ")
    if capacity_only.status == "infeasible":
        return [Reason("diag.capacity_jointly", names=names)]
    tree = evaluate(inst, capacity_only.chosen)
    worst = joined([_customer_label(inst, k) for k in tree.violated], "; ") if len(tree.violated) else names
    return [Reason("diag.voltage_jointly", limit=_limit_label(inst), worst=worst)]
