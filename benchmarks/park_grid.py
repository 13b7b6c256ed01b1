"""Capacitated park benchmark: an n x n street grid, three cable sizes, five feeder bays.

Generates the instance of issue 6 (12 x 12: 149 nodes, 269 corridors, 32 MVA of plots, five
feeder bays with spare capacity, 10 kV voltage-drop limit of the rule set) and solves it with
  ours            single-commodity flow + lazy voltage rows + greedy warm start + per-customer cut rows on the LP
                  + fix-and-optimise after the MIP's share of the time (the default)
  no_cuts         ours without the cut rows;  mip_only  ours without fix-and-optimise;  mip_only_no_cuts  neither
  baseline        single-commodity flow with big-M voltage rows on every arc, no warm start
  tree            ours + connectivity rows;  multicommodity  ours with one commodity per plot
  cuts            per-customer cut rows separated on the LP before the MIP, CUT_ROUNDS rounds (now ours)
  progress        ours with the progress callback of `optimize` (what the live display costs)
  relaxations     no design: bounds of relaxations, for which side of the gap is weak: the model's root LP,
                  the LP after CUT_ROUNDS rounds of per-customer cut rows, and the Steiner bound with capacities
                  dropped (a super-root joined to every feeder at no cost, each corridor at its cheapest
                  option; the exact engine costmodel.grid.steiner)
  fixing          no design: what LP-based reduced-cost fixing would fix before the MIP (issue 23 §1): the LP with
                  per-customer cut rows, each arc-option's reduced cost against the gap between the greedy warm
                  start (or --incumbent-cny) and that LP; and how many arc-options no plot can use within its own
                  voltage-drop limit at its own demand (the cheapest-drop path from the nearest feeder, through the
                  option, to the plot)
  ac              ours in rounds until the design passes its AC check (radial.ac_feasible, what `optimize` does),
                  against ours alone (linear only, then its AC check): rounds, violations, the cost of feasibility
in the same run, reporting status, objective, bound, gap and seconds, and the ratios.

    .venv/bin/python benchmarks/park_grid.py                 # 12x12, 60 s each
    .venv/bin/python benchmarks/park_grid.py --n 16 --time-limit 180
    .venv/bin/python benchmarks/park_grid.py --write examples/some-dir   # the CSVs only
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from costmodel.grid.network import load_grid_limits, network_from_frames  # noqa: E402
from costmodel.grid.radial import extract, prepare, solve  # noqa: E402
from costmodel.grid.radial.ac_feasible import optimise_ac_feasible  # noqa: E402
from costmodel.grid.radial.solver import CUT_ROUNDS  # noqa: E402
from costmodel.grid.validate import validate_design  # noqa: E402
from costmodel.scenarios.parks import park_grid  # noqa: E402


def run(n: int, time_limit_s: float, mip_gap: float, ruleset: str, methods: list[str],
        incumbent_cny: float | None = None) -> list[dict]:
    nodes, corridors = park_grid(n)
    network = network_from_frames(nodes, corridors, source=f"park_grid n={n}")
    customers = nodes[nodes["kind"] == "customer"]
    customers = pd.DataFrame({"application_id": customers["id"], "node_id": customers["id"], "demand_kva": customers["demand_kva"]})
    limits = load_grid_limits(ruleset)
    inst = prepare(network, customers, limits)
    settings = {
        "ours": dict(formulation="plain", voltage_rows="lazy", warm_start=True),
        "tree": dict(formulation="tree", voltage_rows="lazy", warm_start=True),
        "baseline": dict(formulation="plain", voltage_rows="all", warm_start=False),
        "multicommodity": dict(formulation="multicommodity", voltage_rows="lazy", warm_start=True),
        # ours with per-customer cut rows from LP rounds before the MIP
        "cuts": dict(formulation="plain", voltage_rows="lazy", warm_start=True, cut_rounds=CUT_ROUNDS),
        # ours without the cut rows (the default before they paid with fix-and-optimise)
        "no_cuts": dict(formulation="plain", voltage_rows="lazy", warm_start=True, cut_rounds=0),
        # ours with the CLI's progress feed (HiGHS' MIP callback into Python), samples discarded: its cost
        "progress": dict(formulation="plain", voltage_rows="lazy", warm_start=True, on_progress=lambda sample: None),
        # ours without fix-and-optimise before the MIP (the whole time limit to the MIP)
        "mip_only": dict(formulation="plain", voltage_rows="lazy", warm_start=True, neighbourhood_share=0.0),
        "mip_only_no_cuts": dict(formulation="plain", voltage_rows="lazy", warm_start=True, neighbourhood_share=0.0,
                                 cut_rounds=0),
    }
    out = []
    for name in methods:
        row = {"method": name, "n": n, "nodes": len(network.nodes), "corridors": len(network.corridors), "customers": len(customers)}
        started = time.perf_counter()   # wall clock of the whole call, AC checks included
        if name == "relaxations":
            row |= relaxation_bounds(inst)
        elif name == "fixing":
            row |= fixing_reach(inst, incumbent_cny)
        elif name == "ac":
            design, validation = optimise_ac_feasible(inst, network, time_limit_s, mip_gap)
            report = design.report
            row |= {key: report.get(key) for key in ("status", "objective_cny", "bound_cny", "gap", "seconds", "ac_status",
                                                      "ac_rounds", "linear_objective_cny", "feasibility_cost_cny", "feasibility_cost_pct")}
            row["ac_violations"] = len(validation["violations"])
        else:
            r = solve(inst, time_limit_s, mip_gap, **settings[name])
            row |= {"status": r.status, "objective_cny": r.objective_cny, "bound_cny": r.bound_cny, "gap": r.gap,
                    "seconds": round(r.seconds, 1), "rounds": r.iterations, "voltage_rows": r.voltage_rows,
                    "warm_start_cny": r.warm_start_cny}
            if name == "ours" and "ac" in methods and r.chosen is not None:   # the linear design's own AC check
                row["ac_violations"] = len(validate_design(extract(inst, r), network)["violations"])
        row["wall_seconds"] = round(time.perf_counter() - started, 2)
        print(json.dumps(row), flush=True)
        out.append(row)
    return out


def relaxation_bounds(inst) -> dict:
    """The root LP, the LP with per-customer cut rows, and the capacity-free Steiner bound, with their seconds."""
    from pyomo.contrib.appsi.solvers import Highs

    from costmodel.grid.radial import build_model
    from costmodel.grid.radial.build import add_connectivity_cuts
    from costmodel.grid.steiner import solve_steiner
    from costmodel.grid.stp import SteinerProblem

    out = {}
    for rounds, key in ((1, "root_lp_cny"), (CUT_ROUNDS, "lp_with_cut_rows_cny")):
        started = time.perf_counter()
        solver = Highs()
        solver.config.load_solution = False
        log = add_connectivity_cuts(build_model(inst), solver, inst, rounds, started + 600)
        out |= {key: log["lp_bound_cny"], key.replace("_cny", "_seconds"): round(time.perf_counter() - started, 1)}
    cheapest = inst.options.groupby("corridor_id").agg(u=("tail", "min"), v=("head", "max"), weight=("cost_cny", "min"))
    root = inst.n_nodes   # 1-based node ids below; the super-root is node n + 1
    edges = pd.DataFrame({"from_node": np.r_[cheapest["u"], np.full(len(inst.sources), root)] + 1,
                          "to_node": np.r_[cheapest["v"], inst.sources] + 1,
                          "weight": np.r_[cheapest["weight"], np.zeros(len(inst.sources))]})
    edges.insert(0, "edge", range(len(edges)))
    terminals = (root + 1, *(int(n) + 1 for n in np.flatnonzero(inst.demand_kva > 0)))
    nodes = pd.DataFrame({"node": range(1, root + 2)})
    nodes["is_terminal"] = nodes["node"].isin(terminals)
    started = time.perf_counter()
    steiner = solve_steiner(SteinerProblem(nodes, edges, terminals), time_limit_s=60)
    return out | {"steiner_bound_cny": steiner.bound, "steiner_status": steiner.status,
                  "steiner_seconds": round(time.perf_counter() - started, 1)}


def fixing_reach(inst, incumbent_cny: float | None) -> dict:
    """Reduced-cost fixing from the LP with cut rows, and the voltage-reach reduction, counted but not applied."""
    import pyomo.environ as pyo
    from pyomo.contrib.appsi.solvers import Highs
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import dijkstra

    from costmodel.grid.radial import build_model, evaluate
    from costmodel.grid.radial.build import add_connectivity_cuts
    from costmodel.grid.radial.warm_start import greedy_design

    incumbent = incumbent_cny if incumbent_cny is not None else evaluate(inst, greedy_design(inst)).cost_cny
    m, solver = build_model(inst), Highs()
    solver.config.load_solution = False
    add_connectivity_cuts(m, solver, inst, CUT_ROUNDS, time.perf_counter() + 600)
    for var in [*m.build.values(), *m.use_source.values()]:
        var.domain = pyo.UnitInterval
    result = solver.solve(m)
    result.solution_loader.load_vars()
    lp = result.best_objective_bound
    reduced = result.solution_loader.get_reduced_costs()
    rc = np.array([reduced[m.build[o]] for o in m.options])
    at_zero = np.array([(m.build[o].value or 0.0) < 1e-9 for o in m.options])
    opt, arcs = inst.options, inst.arcs
    per_arc = opt.groupby("arc")["drop_pct_per_kva"].min()
    graph = csr_matrix((per_arc.to_numpy(), (arcs.loc[per_arc.index, "tail"], arcs.loc[per_arc.index, "head"])),
                       shape=(inst.n_nodes, inst.n_nodes))
    from_feeder = dijkstra(graph, indices=inst.sources).min(axis=0)
    to_plot = dijkstra(graph.T.tocsr(), indices=inst.customer_nodes)
    tail, head = opt["tail"].to_numpy(), opt["head"].to_numpy()
    drop, cap = opt["drop_pct_per_kva"].to_numpy(), opt["capacity_kva"].to_numpy()
    usable = np.zeros(len(opt), dtype=bool)
    for k, demand in enumerate(inst.customers["demand_kva"].to_numpy()):
        reach_pct = (from_feeder[tail] + drop + to_plot[k][head]) * demand
        usable |= (cap >= demand) & (reach_pct <= inst.limits.voltage_deviation_limit_pct)
    return {"incumbent_cny": incumbent, "lp_with_cut_rows_cny": lp, "largest_reduced_cost_cny": float(rc.max()),
            "fixed_at_zero": int((at_zero & (rc > incumbent - lp)).sum()), "arc_options": len(rc),
            "options_no_plot_can_use": int((~usable).sum())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=12)
    ap.add_argument("--time-limit", type=float, default=60)
    ap.add_argument("--mip-gap", type=float, default=0.005)
    ap.add_argument("--ruleset", default="national-1996")
    ap.add_argument("--methods", default="ours,baseline")
    ap.add_argument("--incumbent-cny", type=float, help="fixing: the incumbent cost (default: the greedy warm start)")
    ap.add_argument("--write", help="write nodes.csv / corridors.csv / customers.csv to this folder and stop")
    args = ap.parse_args()
    if args.write:
        nodes, corridors = park_grid(args.n)
        folder = Path(args.write)
        folder.mkdir(parents=True, exist_ok=True)
        nodes.to_csv(folder / "nodes.csv", index=False)
        corridors.to_csv(folder / "corridors.csv", index=False)
        plots = nodes[nodes["kind"] == "customer"]
        pd.DataFrame({"application_id": plots["id"], "node_id": plots["id"]}).to_csv(folder / "customers.csv", index=False)
        return
    rows = run(args.n, args.time_limit, args.mip_gap, args.ruleset, args.methods.split(","), args.incumbent_cny)
    by = {r["method"]: r for r in rows}
    linear, ac = [r for r in rows if r["method"] == "ours"], [r for r in rows if r["method"] == "ac"]
    for a, b in zip(linear, ac):   # each pair in the order run
        print(json.dumps({"wall_seconds_ratio_ac_over_linear_with_its_check": round(b["wall_seconds"] / max(a["wall_seconds"], 1e-9), 2),
                          "ac_violations_linear": a.get("ac_violations"), "ac_violations_ac": b["ac_violations"],
                          "ac_rounds": b["ac_rounds"], "feasibility_cost_cny": b["feasibility_cost_cny"],
                          "feasibility_cost_pct": b["feasibility_cost_pct"]}))
    if "ours" in by and "baseline" in by:
        a, b = by["ours"], by["baseline"]
        print(json.dumps({"seconds_ratio_baseline_over_ours": round(b["seconds"] / max(a["seconds"], 1e-9), 2),
                          "gap_ours": a["gap"], "gap_baseline": b["gap"],
                          "objective_ratio_baseline_over_ours": (b["objective_cny"] / a["objective_cny"]
                                                                 if a["objective_cny"] and b["objective_cny"] else None)}))


if __name__ == "__main__":
    main()
