"""AC power flow of a chosen design with pandapower, beside the linearised estimates.

Two checks, one result. A network folder imported from a pandapower net (`network import-pandapower`,
`import-simbench`) keeps that net: the design is added into it (`design_into_net`) and the whole net runs, its own
loads, generators, transformers and external grids included (`validate_on_net`). A limit the net already broke
before the design is reported apart, as pre-existing, not as the design's violation. Any other network: the design
alone, an ext_grid at 1.0 pu at each source it uses (`validate_alone`). `validate_design` picks the one that fits.
"""

from __future__ import annotations

import copy
import functools
import math
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import pandapower as pp

from costmodel import files
from costmodel.grid.importers import ImportedNet, PANDAPOWER_FILE, imported_net, lonlat_of, run_power_flow
from costmodel.grid.network import NETWORK_META, Network
from costmodel.grid.radial import Design
from costmodel.messages import Reason

VOLTAGE_TOL_PU = 1e-9
LOADING_TOL_PCT = 1e-9
BUS_COLUMNS = ["node_id", "vm_pu_ac", "voltage_pu_linear", "vm_pu_before", "design_node", "pre_existing"]
LINE_COLUMNS = ["corridor_id", "element", "std_type", "loading_pct_ac", "loading_pct_linear", "loading_pct_before",
                "source_node", "rating_kva", "pre_existing"]


def design_to_pandapower(design: Design, network: Network):
    """The design alone as a pandapower net: an ext_grid at each used source (1.0 pu), its corridors as catalogue
    lines, loads at its customers, each new transformer as a source and a load (`_add_design`)."""
    net = pp.create_empty_network()
    bus: dict[str, int] = {}
    _add_design(net, design, network, bus, {}, lambda x, y: (x, y))
    for node_id in design.sources["node_id"]:
        pp.create_ext_grid(net, bus[node_id], vm_pu=1.0, name=node_id)
    return net


def design_into_net(design: Design, network: Network, imported: ImportedNet):
    """The imported net with the design added: new buses (at longitude/latitude when the folder has a CRS), new lines
    with catalogue parameters, reinforced lines re-parameterised to the chosen conductor, loads at new customers, new
    transformers; the net's own loads, generators, transformers and external grids as they were."""
    return _into_net(design, network, imported)[0]


def _into_net(design: Design, network: Network, imported: ImportedNet) -> tuple[object, dict[str, int], dict[str, int]]:
    net = copy.deepcopy(imported.net)
    bus = dict(imported.bus_of_node)
    geo = (lambda x, y: lonlat_of(x, y, imported.crs)) if imported.crs else (lambda x, y: (x, y))
    lines = _add_design(net, design, network, bus, imported.line_of_corridor, geo)
    return net, bus, lines


def _add_design(net, design: Design, network: Network, bus: dict[str, int], line_of: dict[str, int], geo) -> dict[str, int]:
    """Adds to `net` what the design builds; returns the line index of each of its corridors.

    A bus for each of its nodes not in `bus` (at `geo`(x_m, y_m)); a line for each corridor not in `line_of`, the
    chosen catalogue conductor on each reinforced one that is; a load at each supplied customer (the rule set's power
    factor). A new transformer is a source and a load: an ext_grid (1.0 pu) at its low-voltage site and a load of the
    kVA it carries at its hv_node, so each side's flow is checked against its own limits (the catalogue gives no
    transformer impedance)."""
    nodes = network.nodes
    new_nodes = [node_id for node_id in design.nodes["node_id"] if node_id not in bus]
    x, y = geo(nodes.loc[new_nodes, "x_m"].to_numpy(float), nodes.loc[new_nodes, "y_m"].to_numpy(float))
    for node_id, bus_x, bus_y in zip(new_nodes, x, y):
        bus[node_id] = pp.create_bus(net, vn_kv=float(nodes.at[node_id, "voltage_kv"]), name=node_id, geodata=(float(bus_x), float(bus_y)))
    options = network.options.set_index(["corridor_id", "std_type"])
    lines = {}
    for row in design.corridors.itertuples():
        o = options.loc[(row.corridor_id, row.std_type)]
        parameters = {"r_ohm_per_km": o["r_ohm_per_km"], "x_ohm_per_km": o["x_ohm_per_km"], "c_nf_per_km": o["c_nf_per_km"],
                      "max_i_ka": o["ampacity_a"] / 1000}
        if row.corridor_id not in line_of:
            lines[row.corridor_id] = pp.create_line_from_parameters(
                net, bus[row.from_node], bus[row.to_node], length_km=max(row.length_km, 1e-3), name=row.corridor_id, std_type=None,
                **parameters)
            continue
        lines[row.corridor_id] = line_of[row.corridor_id]
        if row.change == "reinforced":
            net.line.loc[line_of[row.corridor_id], list(parameters) + ["std_type", "parallel"]] = [*parameters.values(), row.std_type, 1]
    pf = design.report["power_factor"]
    sin_phi = math.sqrt(1 - pf ** 2)
    for row in design.customers.dropna(subset=["source_node"]).itertuples():
        demand_mva = row.demand_kva / 1000
        pp.create_load(net, bus[row.node_id], p_mw=demand_mva * pf, q_mvar=demand_mva * sin_phi, name=str(row.application_id))
    for row in design.transformers.itertuples():
        pp.create_ext_grid(net, bus[row.node_id], vm_pu=1.0, name=row.node_id)
        flow_mva = row.flow_kva / 1000
        pp.create_load(net, bus[row.hv_node], p_mw=flow_mva * pf, q_mvar=flow_mva * sin_phi, name=f"{row.node_id} ({row.std_type})")
    return lines


def write_design_net(design: Design, network: Network, path: str | Path) -> Path:
    """The design as a pandapower JSON file (temporary name, then rename): added into the network folder's own net
    (`design_into_net`), or the design alone (`design_to_pandapower`) for a network without one."""
    imported = network_net(network)
    net = design_to_pandapower(design, network) if imported is None else design_into_net(design, network, imported)
    return files.write_text(path, pp.to_json(net))


def validate_design(design: Design, network: Network) -> dict:
    """The AC check of a design: on the whole imported net when the network's folder keeps it (`validate_on_net`),
    else of the design alone (`validate_alone`).

    Returns {"summary": {...}, "buses": frame, "lines": frame, "violations": [text, ...], "pre_existing": [text, ...]}.
    The summary: worst_voltage_pu_ac / _linear / _node / _before, max_loading_pct_ac / _linear / _corridor / _before
    (linear: the design's worst, wherever it is; before: the net's own flow at the worst bus / line), voltage_limit_pu,
    loading_limit_pct, losses_kw, violations (count), pre_existing (count), check ("whole_net" | "design"),
    check_text, buses (checked), existing_loads."""
    imported = network_net(network)
    return validate_alone(design, network) if imported is None else validate_on_net(design, network, imported)


def network_net(network: Network) -> ImportedNet | None:
    """The pandapower net of the network's folder, with the net's own power flow run (in res_*), or None."""
    folder = Path(network.source)     # load_network's networks: the folder; others: a name, no folder
    meta = folder / NETWORK_META
    if not network.source or not meta.is_file():
        return None
    stamps = tuple((path.stat().st_mtime_ns, path.stat().st_size) for path in (meta, folder / PANDAPOWER_FILE) if path.is_file())
    return _flowed_net(str(folder.resolve()), stamps)


@functools.lru_cache(maxsize=4)
def _flowed_net(folder: str, stamps: tuple) -> ImportedNet | None:
    """Read once per process and file version (0.4 s for mv_oberrhein), the net's own power flow with it; every check
    works on a copy."""
    imported = imported_net(folder)
    if imported is not None:
        run_power_flow(imported.net, f"the net of {folder}")
    return imported


def validate_alone(design: Design, network: Network) -> dict:
    """The AC check of the design alone (`design_to_pandapower`): an ext_grid at 1.0 pu at each used source."""
    if design.corridors.empty:
        return no_check()
    net = design_to_pandapower(design, network)
    run_power_flow(net, "the design alone", calculate_voltage_angles=False, init="flat")
    buses = pd.DataFrame({"node_id": net.bus["name"].to_numpy(), "vm_pu_ac": net.res_bus["vm_pu"].to_numpy()})
    buses = buses.merge(design.nodes[["node_id", "voltage_pu_linear"]], on="node_id").assign(
        vm_pu_before=np.nan, design_node=lambda b: b["node_id"], pre_existing=False)
    lines = pd.DataFrame({"corridor_id": net.line["name"].to_numpy(), "loading_pct_ac": net.res_line["loading_percent"].to_numpy()})
    lines = lines.merge(design.corridors[["corridor_id", "std_type", "loading_pct"]].rename(columns={"loading_pct": "loading_pct_linear"}),
                        on="corridor_id").assign(element="line")
    lines = pd.concat([lines, _new_transformers(net, design)], ignore_index=True).assign(
        loading_pct_before=np.nan, source_node=None, rating_kva=np.nan, pre_existing=False)
    check = {"check": "design", "check_text": "AC check of the design alone (an ext_grid at 1.0 pu at each source it uses)",
             "buses": len(buses), "existing_loads": 0, "losses_kw": float(np.sum(net.res_line["pl_mw"].to_numpy()) * 1000)}
    return _result(design, buses[BUS_COLUMNS], lines[LINE_COLUMNS], check)


def validate_on_net(design: Design, network: Network, imported: ImportedNet) -> dict:
    """The AC check of the design inside the whole imported net (`design_into_net`).

    Checked: the voltage of every bus of the network's nodes and of the design's new ones; the loading of every line
    and transformer of the net. A bus below the band, or a line or transformer above the planning limit, in the
    net's own power flow (before the design) is pre-existing: listed in `pre_existing`, not in `violations`. A bus
    the design does not reach carries the design node where its path to its source meets the design
    (`design_node`), whose corridors the AC loop tightens for it."""
    if design.corridors.empty:
        return no_check()
    net, bus, lines_of = _into_net(design, network, imported)
    run_power_flow(net, "the net with the design")
    buses = _checked_buses(net, imported.net, bus, design)
    lines = _checked_branches(net, imported, lines_of, design, network)
    existing_loads = int(imported.net.load["in_service"].sum())
    check = {"check": "whole_net", "check_text": f"AC check on the whole net ({len(buses)} buses, {existing_loads} existing loads)",
             "buses": len(buses), "existing_loads": existing_loads,
             "losses_kw": float(np.sum(net.res_line["pl_mw"].to_numpy()) * 1000),
             "losses_before_kw": float(np.sum(imported.net.res_line["pl_mw"].to_numpy()) * 1000)}
    return _result(design, buses[BUS_COLUMNS], lines[LINE_COLUMNS], check)


def _checked_buses(net, before, bus: dict[str, int], design: Design) -> pd.DataFrame:
    """Each bus of the network's nodes and of the design's new ones: AC voltage with the design and before it, the
    linear estimate (design nodes), pre-existing, and the design node it hangs on (`_meeting_nodes`)."""
    band_pu = 1 - design.report["voltage_limit_pct"] / 100
    checked = pd.Series(bus).rename_axis("node_id").rename("bus").reset_index()
    buses = checked.assign(vm_pu_ac=net.res_bus["vm_pu"].reindex(checked["bus"]).to_numpy(),
                           vm_pu_before=before.res_bus["vm_pu"].reindex(checked["bus"]).to_numpy())
    buses = buses.dropna(subset=["vm_pu_ac"]).merge(design.nodes[["node_id", "voltage_pu_linear"]], on="node_id", how="left")
    buses["pre_existing"] = buses["vm_pu_before"] < band_pu - VOLTAGE_TOL_PU
    buses["design_node"] = buses["node_id"].where(buses["voltage_pu_linear"].notna())
    off_design = (buses["vm_pu_ac"] < band_pu - VOLTAGE_TOL_PU) & ~buses["pre_existing"] & buses["design_node"].isna()
    if off_design.any():
        buses.loc[off_design, "design_node"] = _meeting_nodes(net, buses.loc[off_design, "bus"], bus, design)
    return buses


def _checked_branches(net, imported: ImportedNet, lines_of: dict[str, int], design: Design, network: Network) -> pd.DataFrame:
    """Each in-service line and transformer of the net with the design: AC loading with the design and before it,
    the linear estimate of the whole loading (the design's corridors), pre-existing; a transformer of the net with
    the source node it feeds and its rating."""
    before = imported.net
    limit = design.report["loading_limit_pct"]
    in_service = net.line.index[net.line["in_service"]]
    corridor_of = pd.Series(in_service.map(lambda i: f"line {i}"), index=in_service)
    mapped = pd.Series(list(imported.line_of_corridor), index=list(imported.line_of_corridor.values()), dtype=object)
    corridor_of.update(mapped.reindex(in_service).dropna())
    corridor_of.update(pd.Series(list(lines_of), index=list(lines_of.values()), dtype=object))
    lines = pd.DataFrame({"corridor_id": corridor_of.to_numpy(), "element": "line",
                          "std_type": net.line.loc[in_service, "std_type"].fillna("").astype(str).to_numpy(),
                          "loading_pct_ac": net.res_line.loc[in_service, "loading_percent"].to_numpy(),
                          "loading_pct_before": before.res_line["loading_percent"].reindex(in_service).to_numpy()})
    # the linear estimate of a line's whole loading: the load it carried (the import's power flow) plus the design's flow
    built = design.corridors.set_index("corridor_id")
    carried = network.corridors["existing_load_kva"].reindex(built.index).fillna(0.0)
    lines["loading_pct_linear"] = lines["corridor_id"].map((carried + built["flow_kva"]) / (built["capacity_kva"] + carried) * 100)
    installed = network.corridors["allowed_std_types"].map(lambda types: types[0] if len(types) else "")
    lines["std_type"] = lines["corridor_id"].map(built["std_type"]).fillna(lines["corridor_id"].map(installed)).fillna(lines["std_type"])
    trafos = net.trafo[net.trafo["in_service"]]
    source_of = {b: node for node, b in imported.bus_of_node.items()}
    transformers = pd.DataFrame({
        "corridor_id": trafos.index.map(lambda i: f"t{i}"), "element": "transformer",
        "std_type": trafos["std_type"].fillna("").astype(str).to_numpy(),
        "loading_pct_ac": net.res_trafo.loc[trafos.index, "loading_percent"].to_numpy(),
        "loading_pct_before": before.res_trafo["loading_percent"].reindex(trafos.index).to_numpy(),
        "source_node": trafos["lv_bus"].map(source_of).to_numpy(), "rating_kva": (trafos["sn_mva"] * 1000).to_numpy()})
    branches = pd.concat([lines, transformers, _new_transformers(net, design)], ignore_index=True)
    branches["pre_existing"] = branches["loading_pct_before"] > limit + LOADING_TOL_PCT
    return branches


def _meeting_nodes(net, low_buses: pd.Series, bus: dict[str, int], design: Design) -> list:
    """For each bus the design does not reach: the first design node on its path to the nearest of the design's
    sources (by line length, switches respected), None where there is none."""
    from pandapower.topology import create_nxgraph

    graph = create_nxgraph(net, respect_switches=True, multi=False)
    node_of = {b: node for node, b in bus.items() if node in set(design.nodes["node_id"])}
    sources = {bus[node] for node in design.sources["node_id"]}
    meeting = []
    for low in low_buses:
        try:
            path = nx.multi_source_dijkstra(graph, sources, target=low, weight="weight")[1]
        except nx.NetworkXNoPath:
            path = []
        meeting.append(next((node_of[b] for b in reversed(path) if b in node_of), None))
    return meeting


def _new_transformers(net, design: Design) -> pd.DataFrame:
    """A new transformer's AC load: what its secondary's ext_grid supplies, losses included."""
    supplied_kva = np.hypot(net.res_ext_grid["p_mw"], net.res_ext_grid["q_mvar"]).to_numpy() * 1000
    at_site = pd.Series(supplied_kva, index=net.ext_grid["name"].to_numpy())
    new = design.transformers
    return pd.DataFrame({"corridor_id": new["corridor_id"].to_numpy(), "element": "transformer", "std_type": new["std_type"].to_numpy(),
                         "loading_pct_ac": at_site.reindex(new["node_id"]).to_numpy() / new["rating_kva"].to_numpy(float) * 100,
                         "loading_pct_linear": new["loading_pct"].to_numpy(float)})


def no_check() -> dict:
    """The result of a check that did not run (no design): no summary, no violations."""
    return {"summary": {}, "buses": pd.DataFrame(columns=BUS_COLUMNS), "lines": pd.DataFrame(columns=LINE_COLUMNS),
            "violations": [], "pre_existing": []}


def _result(design: Design, buses: pd.DataFrame, lines: pd.DataFrame, check: dict) -> dict:
    """Violations (the design's) and pre-existing breaches (the net's own) in words, and the summary."""
    band_pu = 1 - design.report["voltage_limit_pct"] / 100
    limit = design.report["loading_limit_pct"]
    upper_pu = 1 + design.report["voltage_limit_pct"] / 100   # the same clause's band above nominal
    low = buses[buses["vm_pu_ac"] < band_pu - VOLTAGE_TOL_PU]
    high = buses[buses["vm_pu_ac"] > upper_pu + VOLTAGE_TOL_PU]
    high_before = high["vm_pu_before"] > upper_pu + VOLTAGE_TOL_PU
    hot = lines[lines["loading_pct_ac"] > limit + LOADING_TOL_PCT]

    def voltage_estimate(r) -> Reason:
        return (Reason("ac.estimate_voltage_linear", value=r.voltage_pu_linear) if pd.notna(r.voltage_pu_linear)
                else Reason("ac.estimate_voltage_before", value=r.vm_pu_before))

    def voltage(r) -> Reason:
        return Reason("ac.voltage_low", node=r.node_id, vm_pu=r.vm_pu_ac, band_pu=band_pu, estimate=voltage_estimate(r))

    def loading(r) -> Reason:
        estimate = (Reason("ac.estimate_loading_linear", value=r.loading_pct_linear) if pd.notna(r.loading_pct_linear)
                    else Reason("ac.estimate_loading_before", value=r.loading_pct_before))
        kind = Reason("ac.kind_transformer" if pd.notna(r.rating_kva) else "ac.kind_corridor")   # the net's own transformers have no corridor
        return Reason("ac.loading_high", kind=kind, element=r.corridor_id, std_type=r.std_type, loading_pct=r.loading_pct_ac,
                      limit_pct=limit, estimate=estimate)

    def over_voltage(r) -> Reason:
        return Reason("ac.voltage_high", node=r.node_id, vm_pu=r.vm_pu_ac, upper_pu=upper_pu, estimate=voltage_estimate(r))

    violations = [voltage(r) for r in low[~low["pre_existing"]].itertuples()]
    violations += [over_voltage(r) for r in high[~high_before].itertuples()]
    violations += [loading(r) for r in hot[~hot["pre_existing"]].itertuples()]
    pre_existing = [Reason("ac.pre_existing", breach=voltage(r)) for r in low[low["pre_existing"]].itertuples()]
    pre_existing += [Reason("ac.pre_existing", breach=over_voltage(r)) for r in high[high_before].itertuples()]
    pre_existing += [Reason("ac.pre_existing", breach=loading(r)) for r in hot[hot["pre_existing"]].itertuples()]
    summary = {
        "worst_voltage_pu_ac": float(buses["vm_pu_ac"].min()),
        "worst_voltage_pu_linear": float(buses["voltage_pu_linear"].min()),
        "worst_voltage_node": str(buses.loc[buses["vm_pu_ac"].idxmin(), "node_id"]),
        "max_loading_pct_ac": float(lines["loading_pct_ac"].max()),
        "max_loading_pct_linear": float(lines["loading_pct_linear"].max()),
        "max_loading_corridor": str(lines.loc[lines["loading_pct_ac"].idxmax(), "corridor_id"]),
        # the net's own power flow at the worst bus and line (None for new ones and for the design-only check)
        "worst_voltage_pu_before": _or_none(buses.loc[buses["vm_pu_ac"].idxmin(), "vm_pu_before"]),
        "max_loading_pct_before": _or_none(lines.loc[lines["loading_pct_ac"].idxmax(), "loading_pct_before"]),
        "voltage_limit_pu": band_pu,
        "highest_voltage_pu_ac": float(buses["vm_pu_ac"].max()),
        "voltage_upper_limit_pu": upper_pu,
        "loading_limit_pct": limit,
        "violations": len(violations),
        "pre_existing": len(pre_existing),
    } | check
    return {"summary": summary, "buses": buses, "lines": lines, "violations": violations, "pre_existing": pre_existing}


def _or_none(value) -> float | None:
    return None if pd.isna(value) else float(value)
