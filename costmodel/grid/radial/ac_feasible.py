"""Designs that pass their own AC check: solve the linear model, run the AC power flow, tighten what it showed,
solve again.

The linear model leaves out losses and the rise of current as voltage sags, so a cable the linear model fills
close to its rating is overloaded in AC. Each round runs the AC check of the design; the next round plans every
corridor and new transformer to its rating x the planning loading limit / the ratio by which its AC loading will
exceed the linear one (`current_ratios`: measured on the design's own, estimated from the AC voltages and the
measured losses elsewhere, so that a corridor the next design newly fills is not the next violation). Where a
node's AC voltage breaks the band, the drop per kVA of the corridors on its path grows by the AC / linear drop
ratio. On an imported net the check runs on the whole net (grid/validate.py): a corridor's AC loading then counts
the load it carried already, so its capacity for new load is what the planned loading leaves of that load; a bus the
design does not reach tightens the path to where it meets the design; a feeding transformer above the limit lowers
its source's spare capacity by the excess; what the net broke before the design is not tightened for.
Capacities, drops and spare capacities only ever tighten. The design just checked, re-sized to the tightened capacities, is
the next round's MIP start; a tightening round gets half of round 1's time (TIGHTENING_TIME_SHARE), and once the
time limit is spent, a round only checks that re-sized design. The loop stops
when the AC check passes, when a tightened model has no design (the diagnosis names the blocking limit), or at the
round limit, each with its own status.

The bound reported is the first round's: a lower bound of the linear model, whose flows leave out the losses; it
is not proven a bound of the AC problem, and the report says so (`bound_basis`).
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import pandas as pd

from costmodel.grid.network import Network
from costmodel.grid.radial import Design, Instance, SolveResult, extract, optimise
from costmodel.grid.radial.data import CAPACITY_TOL_KVA, evaluate, path_to_root, tree_parent
from costmodel.grid.radial.warm_start import resize
from costmodel.grid.status import NETWORK_GAP, status_of, summary
from costmodel.messages import Reason, joined

# A tightening round solves a model like round 1's from a start that is already AC-feasible or nearly so; on the
# 12 x 12 park HiGHS found nothing better than that start in 180 s (docs/performance.md), so a tightening round
# gets half of round 1's time (at least a few seconds, for a small network's round 1 of milliseconds).
TIGHTENING_TIME_SHARE = 0.5
TIGHTENING_FLOOR_S = 5.0
BOUND_BASIS = "linear model (round 1): leaves out losses, so not proven a bound of the AC problem"


def current_ratios(inst: Instance, validation: dict) -> pd.Series:
    """Per arc-option: how far its AC loading will exceed the linear one, as the AC check of a design showed.

    A corridor or new transformer of the design: its own AC / linear loading. Any other: the rise of current as
    the voltage sags, 1 / the AC voltage at its head (at its tail, else the lowest voltage of the design, where the
    head is not in the design; 1 at a new transformer's secondary), times 1 + the largest loss share measured on
    the design's corridors (AC / linear loading x the voltage at the corridor's head, less 1). The current is
    highest at a corridor's receiving end, so its loading follows that end's voltage."""
    opt = inst.options
    lines = validation["lines"]
    measured = lines[lines["loading_pct_linear"] > 0]
    ratio = pd.Series((measured["loading_pct_ac"] / measured["loading_pct_linear"]).to_numpy(), index=measured["corridor_id"])
    voltage = validation["buses"].set_index("node_id")["vm_pu_ac"]
    ids = np.array(inst.node_ids)
    head_v = pd.Series(ids[opt["head"].to_numpy()], index=opt.index).map(voltage)
    tail_v = pd.Series(ids[opt["tail"].to_numpy()], index=opt.index).map(voltage)
    sag = head_v.fillna(tail_v).fillna(voltage.min()).where(~opt["restarts_voltage"], 1.0)
    built = opt.loc[opt["corridor_id"].isin(ratio.index)]
    loss_share = max(float((built["corridor_id"].map(ratio) * head_v[built.index]).max() - 1), 0.0) if len(built) else 0.0
    return opt["corridor_id"].map(ratio).fillna((1 + loss_share) / sag).clip(lower=1.0)


def tighten(inst: Instance, chosen: list[int], validation: dict) -> tuple[Instance, dict]:
    """The instance with the capacities, drops and spare capacities the AC check of design `chosen` showed (see the
    module's text). What the net broke before the design (`pre_existing`) is left alone.

    A corridor's capacity for new load: its rating x the planning limit / the ratio, less the load it carries already
    where the check ran on the whole net (its AC loading counts that load too). A bus below the band tightens the
    path to the design node it hangs on (itself, or where its path to the source meets the design). A feeding
    transformer of the net above the limit: its source's spare capacity drops to the design's load on it less the
    excess. Returns the tightened instance and {corridors, nodes, sources}: how many corridors had their capacity
    lowered, how many violated nodes had the drops on their path raised, how many sources lost spare capacity."""
    opt = inst.options
    whole_net = validation["summary"].get("check") == "whole_net"
    carried = (opt["corridor_id"].map(inst.network.corridors["existing_load_kva"]).fillna(0.0) if whole_net
               else pd.Series(0.0, index=opt.index))
    planned = (opt["rating_kva"] + carried) * inst.limits.loading_limit_pct / 100.0 / current_ratios(inst, validation) - carried
    lowered = planned < opt["capacity_kva"] - CAPACITY_TOL_KVA
    capacity = opt["capacity_kva"].where(~lowered, planned.clip(lower=0.0))

    drop_factor = pd.Series(1.0, index=opt.index)
    band_pu = 1 - inst.limits.voltage_deviation_limit_pct / 100
    buses = validation["buses"]
    linear = buses.set_index("node_id")["voltage_pu_linear"]
    low = buses[(buses["vm_pu_ac"] < band_pu - 1e-9) & ~buses["pre_existing"].astype(bool) & buses["design_node"].notna()]
    parent, tail_of = tree_parent(inst, chosen), opt["tail"].to_numpy()
    index = {node_id: i for i, node_id in enumerate(inst.node_ids)}
    for row in low.itertuples():
        path, _ = path_to_root(parent, tail_of, index[row.design_node])
        ratio_v = (1 - row.vm_pu_ac) / max(1 - linear[row.design_node], 1e-12)
        on_path = opt["corridor_id"].isin(opt.loc[path, "corridor_id"])
        drop_factor[on_path] = np.maximum(drop_factor[on_path], ratio_v)
    options = opt.assign(capacity_kva=capacity, drop_pct_per_kva=opt["drop_pct_per_kva"] * drop_factor)
    spare = _tightened_spare(inst, chosen, validation)
    return replace(inst, options=options, spare_kva=spare), {"corridors": int(opt.loc[lowered, "corridor_id"].nunique()),
                                                              "nodes": len(low), "sources": int((spare < inst.spare_kva).sum())}


def _tightened_spare(inst: Instance, chosen: list[int], validation: dict) -> np.ndarray:
    """Spare capacity per source: a transformer of the net feeding it above the planning limit (not already before
    the design) leaves the design's load on it less the excess kVA."""
    lines = validation["lines"]
    hot = lines[lines["source_node"].notna() & ~lines["pre_existing"].astype(bool)
                & (lines["loading_pct_ac"] > inst.limits.loading_limit_pct + 1e-9)]
    spare = inst.spare_kva.astype(float).copy()
    if hot.empty:
        return spare
    supplied_by = evaluate(inst, chosen).supplied_by
    position = {node: k for k, node in enumerate(inst.sources)}
    index = {node_id: i for i, node_id in enumerate(inst.node_ids)}
    for row in hot.itertuples():
        k = position.get(index.get(row.source_node))
        if k is None:
            continue
        load = inst.demand_kva[supplied_by == inst.sources[k]].sum()
        excess = (row.loading_pct_ac - inst.limits.loading_limit_pct) / 100 * row.rating_kva
        spare[k] = min(spare[k], max(load - excess, 0.0))
    return spare


def optimise_ac_feasible(inst: Instance, network: Network, time_limit_s: float = 60.0, mip_gap: float = 0.005,
                         max_rounds: int = 5, **solve_options) -> tuple[Design, dict]:
    """The cheapest design found that passes its AC check within `max_rounds` rounds and `time_limit_s` in all.

    Returns (design, validation). The design's report gains ac_status (passed | round_limit | no_design |
    not_checked), ac_rounds, ac_log (one row per round), linear_objective_cny (round 1), feasibility_cost_cny and
    _pct (the final cost over round 1's), and bound_basis. With no AC-feasible design, the status is infeasible
    (a tightened model has none: its diagnosis) or no_solution (round or time limit), the design is empty and the
    diagnosis names the violations of the last design checked."""
    from costmodel.grid.validate import no_check, validate_design

    began = time.perf_counter()
    log: list[dict] = []
    first: SolveResult | None = None
    start_design = None
    for number in range(1, max_rounds + 1):
        remaining = time_limit_s - (time.perf_counter() - began)
        if number > 1:   # a tightening round: a share of round 1's time, at least a floor, within the time limit
            remaining = min(remaining, max(TIGHTENING_TIME_SHARE * first.seconds, TIGHTENING_FLOOR_S))
        if number > 1 and remaining <= 0 and start_design is None:
            break
        # the re-sized design is the start of a tightening round: the greedy one costs time and was dearer on the
        # 12 x 12 park (13.85 against 13.64 M CNY); out of time, the round checks the re-sized design only
        options = solve_options | ({"warm_start": False} if start_design is not None else {})
        result = optimise(inst, max(remaining, 0.0), mip_gap, start_design=start_design, **options)
        first = first or result
        design = extract(inst, result)
        if result.chosen is None:
            log.append(_round_row(number, result, None, {}))
            if number == 1:   # the linear model itself has no design: its own status and diagnosis
                return _reported(design, first, log, "not_checked", began), no_check()
            return _no_design(inst, first, log, began, "infeasible" if result.status == "infeasible" else "no_solution",
                              [Reason("ac.no_design_after_round", round=number - 1, diagnosis=text) for text in result.diagnosis] or
                              [Reason("ac.no_design_in_time", seconds=time_limit_s)]), no_check()
        validation = validate_design(design, network)
        if not validation["violations"]:
            log.append(_round_row(number, result, validation, {}))
            return _reported(design, first, log, "passed", began), validation
        inst, tightened = tighten(inst, result.chosen, validation)
        log.append(_round_row(number, result, validation, tightened))
        if not any(tightened.values()):   # another round would solve the same model again
            return _no_design(inst, first, log, began, "no_solution",
                              [Reason("ac.no_design_untightenable", round=number, cost_cny=design.report["objective_cny"],
                                      violations=joined(validation["violations"], "; "))], "round_limit"), validation
        start_design = resize(inst, result.chosen)
    stopped = Reason("ac.stopped_round_limit" if len(log) == max_rounds else "ac.stopped_time_limit")
    return _no_design(inst, first, log, began, "no_solution",
                      [Reason("ac.no_design_stopped", stopped=stopped, rounds=len(log), seconds=time_limit_s,
                              cost_cny=design.report["objective_cny"], violations=joined(validation["violations"], "; "))],
                      "round_limit"), validation


def optimised_design(inst: Instance, network: Network, time_limit_s: float, mip_gap: float, ac_rounds: int,
                     **solve_options) -> tuple[Design, dict | None]:
    """The design `optimize` and `optimize-many` return: through the AC loop (with its check) when `ac_rounds` > 0,
    else the linear model's, not yet checked (validation None)."""
    if ac_rounds > 0:
        return optimise_ac_feasible(inst, network, time_limit_s, mip_gap, ac_rounds, **solve_options)
    return extract(inst, optimise(inst, time_limit_s, mip_gap, **solve_options)), None


def _round_row(number: int, result: SolveResult, validation: dict | None, tightened: dict) -> dict:
    ac = (validation or {}).get("summary", {})
    return {"round": number, "status": result.status, "objective_cny": result.objective_cny, "bound_cny": result.bound_cny,
            "seconds": round(result.seconds, 2), "ac_violations": len((validation or {}).get("violations", [])),
            "max_loading_pct_ac": ac.get("max_loading_pct_ac"), "worst_voltage_pu_ac": ac.get("worst_voltage_pu_ac"),
            "tightened_corridors": tightened.get("corridors", 0), "tightened_nodes": tightened.get("nodes", 0),
            "tightened_sources": tightened.get("sources", 0)}


def _reported(design: Design, first: SolveResult, log: list[dict], ac_status: str, began: float) -> Design:
    """The report of the design returned: its cost against round 1's, its gap against round 1's (linear) bound."""
    report = design.report
    cost, linear = report["objective_cny"], first.objective_cny
    report.update(seconds=time.perf_counter() - began, ac_status=ac_status, ac_rounds=len(log), ac_log=log,
                  linear_objective_cny=linear, bound_cny=first.bound_cny, bound_basis=BOUND_BASIS,
                  warm_start_cny=first.warm_start_cny)
    report["ac_summary"] = {"passed": f"AC check passed in round {len(log)}", "not_checked": "AC check not run: no design",
                            "no_design": f"no AC-feasible design (round {len(log)})",
                            "round_limit": f"no AC-feasible design after {len(log)} round(s)"}[ac_status]
    if cost is not None and linear is not None:
        gap = None if first.bound_cny is None else max(0.0, (cost - first.bound_cny) / max(abs(cost), 1e-9))
        status = status_of(gap, NETWORK_GAP) if report["status"] in ("optimal", "feasible") else report["status"]
        report.update(status=status, summary=summary(status, gap), gap=gap, feasibility_cost_cny=cost - linear,
                      feasibility_cost_pct=(cost - linear) / linear * 100 if linear else 0.0)
    return design


def _no_design(inst: Instance, first: SolveResult, log: list[dict], began: float, status: str, diagnosis: list[str],
               ac_status: str = "no_design") -> Design:
    """An empty design whose report says why no AC-feasible one was found."""
    empty = SolveResult(status, None, first.bound_cny, None, 0.0, None, len(log), 0, first.warm_start_cny, diagnosis, [])
    return _reported(extract(inst, empty), first, log, ac_status, began)
