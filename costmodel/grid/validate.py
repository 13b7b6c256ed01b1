"""AC power flow of a chosen design with pandapower, beside the linearised estimates."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pandapower as pp

from costmodel.grid.radial import Design
from costmodel.grid.network import Network


def design_to_pandapower(design: Design, network: Network):
    """pandapower net: an ext_grid at each used source (1.0 pu), catalogue lines, loads at customers.

    A new transformer is a source and a load: an ext_grid (1.0 pu) at its low-voltage site and a
    load of the kVA it carries at its hv_node, so each side's flow is checked against its own limits.
    """
    net = pp.create_empty_network()
    nodes = network.nodes
    bus = {}
    for node_id in design.nodes["node_id"]:
        row = nodes.loc[node_id]
        bus[node_id] = pp.create_bus(net, vn_kv=float(row["voltage_kv"]), name=node_id, geodata=(row["x_m"], row["y_m"]))
    for node_id in design.sources["node_id"]:
        pp.create_ext_grid(net, bus[node_id], vm_pu=1.0, name=node_id)
    options = network.options.set_index(["corridor_id", "std_type"])
    for row in design.corridors.itertuples():
        o = options.loc[(row.corridor_id, row.std_type)]
        pp.create_line_from_parameters(
            net, bus[row.from_node], bus[row.to_node], length_km=max(row.length_km, 1e-3), name=row.corridor_id,
            r_ohm_per_km=o["r_ohm_per_km"], x_ohm_per_km=o["x_ohm_per_km"], c_nf_per_km=o["c_nf_per_km"],
            max_i_ka=o["ampacity_a"] / 1000, std_type=None)
    pf = design.report["power_factor"]
    sin_phi = math.sqrt(1 - pf ** 2)
    for row in design.customers.dropna(subset=["source_node"]).itertuples():
        demand_mva = row.demand_kva / 1000
        pp.create_load(net, bus[row.node_id], p_mw=demand_mva * pf, q_mvar=demand_mva * sin_phi, name=str(row.application_id))
    for row in design.transformers.itertuples():
        pp.create_ext_grid(net, bus[row.node_id], vm_pu=1.0, name=row.node_id)
        flow_mva = row.flow_kva / 1000
        pp.create_load(net, bus[row.hv_node], p_mw=flow_mva * pf, q_mvar=flow_mva * sin_phi, name=f"{row.node_id} ({row.std_type})")
    return net


def validate_design(design: Design, network: Network) -> dict:
    """Worst voltage and loading from an AC power flow next to the linear estimates; flags violations.

    Returns {"summary": {...}, "buses": frame, "lines": frame, "violations": [text, ...]}.
    """
    if design.corridors.empty:
        return {"summary": {}, "buses": pd.DataFrame(), "lines": pd.DataFrame(), "violations": []}
    net = design_to_pandapower(design, network)
    pp.runpp(net, calculate_voltage_angles=False, init="flat", numba=False)  # numba is not a dependency
    limit = design.report["voltage_limit_pct"]
    buses = pd.DataFrame({"node_id": net.bus["name"].to_numpy(), "vm_pu_ac": net.res_bus["vm_pu"].to_numpy()})
    buses = buses.merge(design.nodes[["node_id", "voltage_pu_linear"]], on="node_id")
    lines = pd.DataFrame({"corridor_id": net.line["name"].to_numpy(), "loading_pct_ac": net.res_line["loading_percent"].to_numpy()})
    lines = lines.merge(design.corridors[["corridor_id", "std_type", "loading_pct"]].rename(columns={"loading_pct": "loading_pct_linear"}),
                        on="corridor_id")
    # a new transformer's load is what its secondary's ext_grid supplies, losses included
    supplied_kva = np.hypot(net.res_ext_grid["p_mw"], net.res_ext_grid["q_mvar"]).to_numpy() * 1000
    at_site = pd.Series(supplied_kva, index=net.ext_grid["name"].to_numpy())
    transformers = design.transformers.assign(loading_pct_ac=lambda t: at_site.reindex(t["node_id"]).to_numpy() / t["rating_kva"] * 100)
    transformers = transformers.rename(columns={"loading_pct": "loading_pct_linear"})[
        ["corridor_id", "node_id", "std_type", "loading_pct_ac", "loading_pct_linear"]]
    lines = pd.concat([lines, transformers.drop(columns="node_id")], ignore_index=True)
    loading_limit = design.report["loading_limit_pct"]
    low = buses[buses["vm_pu_ac"] < 1 - limit / 100 - 1e-9]
    hot = lines[lines["loading_pct_ac"] > loading_limit + 1e-9]
    violations = [f"node {r.node_id}: AC voltage {r.vm_pu_ac:.4f} pu below the limit {1 - limit / 100:.4f} pu "
                  f"(linear estimate {r.voltage_pu_linear:.4f} pu)" for r in low.itertuples()]
    violations += [f"corridor {r.corridor_id} ({r.std_type}): AC loading {r.loading_pct_ac:.1f}% above {loading_limit:g}% "
                   f"(linear estimate {r.loading_pct_linear:.1f}%)" for r in hot.itertuples()]
    summary = {
        "worst_voltage_pu_ac": float(buses["vm_pu_ac"].min()),
        "worst_voltage_pu_linear": float(buses["voltage_pu_linear"].min()),
        "worst_voltage_node": str(buses.loc[buses["vm_pu_ac"].idxmin(), "node_id"]),
        "max_loading_pct_ac": float(lines["loading_pct_ac"].max()),
        "max_loading_pct_linear": float(lines["loading_pct_linear"].max()),
        "max_loading_corridor": str(lines.loc[lines["loading_pct_ac"].idxmax(), "corridor_id"]),
        "voltage_limit_pu": 1 - limit / 100,
        "loading_limit_pct": loading_limit,
        "losses_kw": float(np.sum(net.res_line["pl_mw"].to_numpy()) * 1000),
        "violations": len(violations),
    }
    return {"summary": summary, "buses": buses, "lines": lines, "violations": violations}
