"""Extracting the design: the solver's chosen arc-options as frames a planner, the quote and the AC check read."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from costmodel.grid.radial.data import Instance, evaluate, path_to_root, tree_parent
from costmodel.grid.radial.solver import SolveResult
from costmodel.grid.status import summary

TRANSFORMER_COLUMNS = ["corridor_id", "node_id", "hv_node", "std_type", "rating_kva", "flow_kva", "loading_pct", "cost_cny", "change"]


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
              "loading_limit_pct": inst.limits.loading_limit_pct,
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
        "rating_kva": new_transformers["rating_kva"].to_numpy(), "flow_kva": new_transformers["flow_kva"].to_numpy(),
        "loading_pct": (new_transformers["flow_kva"] / new_transformers["rating_kva"] * 100).to_numpy(),
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
        "cost_cny": opt["cost_cny"].to_numpy(), "flow_kva": flows, "capacity_kva": opt["rating_kva"].to_numpy()})
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
    parent, tail_of = tree_parent(inst, tree.chosen), inst.options["tail"].to_numpy()
    corridor_of = inst.options["corridor_id"].to_numpy()
    rows = [(k, corridor_of[o]) for k, node in enumerate(inst.customer_nodes)
            for o in path_to_root(parent, tail_of, int(node))[0]]
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
