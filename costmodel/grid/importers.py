"""Networks from elsewhere: a pandapower net as the existing network; candidate corridors by geometry.

`from_pandapower` maps medium-voltage buses to nodes (buses above the feeder points are dropped; transformer low-voltage
buses feeder points with the spare capacity left by the net's own loads in a power flow, buses with
loads junctions), in-service lines to existing corridors with the catalogue conductor of the nearest
ampacity (overhead lines to mv_overhead, cables to mv_cable) as installed type.
`candidate_corridors` proposes new corridors between nodes by Delaunay triangulation or k nearest
neighbours (scipy.spatial), lengths from coordinates times a detour factor (streets are not straight).
`from_steiner` maps an STP/`.gr` Steiner instance to a network: edges become candidate corridors of
the catalogue's cheapest cable, length = weight x `km_per_weight`, so a design's cost is the tree's
weight x (cable price per km x km_per_weight); the first terminal is the source, the others customers.
`write_network` writes a network directory (nodes.csv, corridors.csv, customers.csv).
"""

from __future__ import annotations

import json
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import pandapower as pp
from scipy.spatial import Delaunay, cKDTree

from costmodel import files
from costmodel.errors import InputError
from costmodel.grid.network import (CORRIDOR_COLUMNS, DEFAULT_CATALOGUE, DEFAULT_FAMILY, NODE_COLUMNS, NODE_OPTIONAL,
                                    Network, customers_from_nodes, load_conductors, network_from_frames)
from costmodel.grid.stp import read_gr
from costmodel.params.parameter import parameters_in_force
from costmodel.paths import tariffs_dir


METRES_PER_DEGREE = 111_320.0   # of latitude; geometry, not policy


def from_pandapower(net, catalogue=DEFAULT_CATALOGUE) -> tuple[pd.DataFrame, pd.DataFrame]:
    """nodes and corridors frames (network.csv layout) of a pandapower net's in-service part."""
    pp.runpp(net, numba=False)  # numba is not a dependency
    xy = _bus_xy(net)
    buses = net.bus[net.bus["in_service"]]
    nodes = pd.DataFrame({"id": "b" + buses.index.astype(str), "x_m": xy.loc[buses.index, "x"].to_numpy(),
                          "y_m": xy.loc[buses.index, "y"].to_numpy(), "kind": "junction",
                          "voltage_kv": buses["vn_kv"].to_numpy(), "spare_capacity_kva": 0.0, "demand_kva": 0.0},
                         index=buses.index)
    nodes.loc[nodes.index.isin(net.ext_grid["bus"]), "kind"] = "substation"
    trafo = net.trafo[net.trafo["in_service"]]
    spare = trafo["sn_mva"] * 1000 * (1 - net.res_trafo.loc[trafo.index, "loading_percent"] / 100)
    spare_by_bus = spare.groupby(trafo["lv_bus"]).sum().clip(lower=0)
    nodes.loc[spare_by_bus.index, "kind"] = "feeder_point"
    nodes.loc[spare_by_bus.index, "spare_capacity_kva"] = spare_by_bus.round(1).to_numpy()
    # only the medium-voltage side is designed: drop buses above the feeder points' voltage
    mv = nodes["voltage_kv"] <= nodes.loc[spare_by_bus.index, "voltage_kv"].max() if len(spare_by_bus) else nodes["voltage_kv"] > 0
    nodes = nodes[mv]

    conductors = load_conductors(catalogue)
    lines = net.line[net.line["in_service"] & net.line["from_bus"].isin(nodes.index) & net.line["to_bus"].isin(nodes.index)]
    family = np.where(lines["type"].astype(str).str.startswith("ol"), "mv_overhead", "mv_cable")
    ampacity = lines["max_i_ka"].to_numpy() * 1000
    installed = [_nearest(conductors, f, a) for f, a in zip(family, ampacity)]
    corridors = pd.DataFrame({
        "id": "l" + lines.index.astype(str), "from_node": "b" + lines["from_bus"].astype(str).to_numpy(),
        "to_node": "b" + lines["to_bus"].astype(str).to_numpy(), "length_km": lines["length_km"].round(4).to_numpy(),
        "allowed_std_types": installed, "cost_multiplier": 1.0, "status": "existing"})
    return nodes.reset_index(drop=True), corridors


def _bus_xy(net) -> pd.DataFrame:
    """Bus coordinates from pandapower's GeoJSON `bus.geo` column."""
    geo = net.bus["geo"] if "geo" in net.bus else pd.Series(None, index=net.bus.index)
    coords = geo.map(lambda g: json.loads(g)["coordinates"] if isinstance(g, str) else [np.nan, np.nan])
    xy = pd.DataFrame(coords.tolist(), index=net.bus.index, columns=["x", "y"])
    if xy.isna().any().any():
        raise InputError(f"pandapower net: bus {xy.index[xy.isna().any(axis=1)][0]} has no coordinates in bus.geo; "
                         "allowed: a net whose buses all have GeoJSON points")
    if xy["x"].abs().max() <= 180 and xy["y"].abs().max() <= 90:
        # longitude/latitude: local equirectangular projection to metres, origin at the south-west corner
        lat0 = np.radians(xy["y"].mean())
        xy = pd.DataFrame({"x": (xy["x"] - xy["x"].min()) * METRES_PER_DEGREE * np.cos(lat0),
                           "y": (xy["y"] - xy["y"].min()) * METRES_PER_DEGREE}, index=xy.index)
    return xy


def _nearest(conductors: pd.DataFrame, family: str, ampacity_a: float) -> str:
    """std_type of `family` whose ampacity is nearest to the line's."""
    rows = conductors[conductors["family"] == family]
    return str((rows["ampacity_a"] - ampacity_a).abs().idxmin())


def candidate_corridors(nodes: pd.DataFrame, method: str = "delaunay", k: int = 4, detour: float = 1.3,
                        existing: pd.DataFrame | None = None, max_km: float | None = None,
                        allowed_std_types: str = "", prefix: str = "cand") -> pd.DataFrame:
    """Candidate corridors between nodes of one voltage, skipping pairs an existing corridor joins.

    method "delaunay" (planar, like streets) or "knn" (each node to its k nearest); length =
    straight distance x `detour`; `max_km` drops longer pairs.
    """
    if method not in ("delaunay", "knn"):
        raise InputError(f"candidate method {method!r} is not allowed; allowed: delaunay, knn")
    frames = []
    for voltage, group in nodes.groupby("voltage_kv"):
        xy = group[["x_m", "y_m"]].to_numpy(float)
        if len(group) < 2:
            continue
        if method == "knn" or len(group) < 4:
            tree = cKDTree(xy)
            _, idx = tree.query(xy, k=min(k + 1, len(group)))
            pairs = {tuple(sorted((i, j))) for i, row in enumerate(idx) for j in row[1:]}
        else:
            tri = Delaunay(xy)
            pairs = {tuple(sorted((s[a], s[b]))) for s in tri.simplices for a, b in ((0, 1), (1, 2), (0, 2))}
        pairs = np.array(sorted(pairs))
        ids = group["id"].to_numpy()
        length = np.hypot(*(xy[pairs[:, 0]] - xy[pairs[:, 1]]).T) / 1000 * detour
        frames.append(pd.DataFrame({"from_node": ids[pairs[:, 0]], "to_node": ids[pairs[:, 1]], "length_km": length.round(4)}))
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["from_node", "to_node", "length_km"])
    if existing is not None and len(existing):
        joined = set(map(frozenset, zip(existing["from_node"], existing["to_node"])))
        out = out[[frozenset(p) not in joined for p in zip(out["from_node"], out["to_node"])]]
    if max_km is not None:
        out = out[out["length_km"] <= max_km]
    out = out.reset_index(drop=True)
    out.insert(0, "id", [f"{prefix}{i + 1}" for i in range(len(out))])
    out["allowed_std_types"] = allowed_std_types
    out["cost_multiplier"] = 1.0
    out["status"] = "candidate"
    return out


def steiner_import_defaults() -> dict[str, dict]:
    """km_per_weight and terminal_demand_kva, with unit and reference, from tariffs/grid/steiner-import.yaml."""
    return parameters_in_force(tariffs_dir() / "grid" / "steiner-import.yaml")


def from_steiner(path: str | Path, catalogue: str = DEFAULT_CATALOGUE, km_per_weight: float | None = None,
                 demand_kva: float | None = None, family: str = DEFAULT_FAMILY["mv"]) -> Network:
    """A `.gr` Steiner instance as a validated network (nodes "n<id>", corridors "e<position>").

    Every edge is a candidate corridor of the cheapest conductor of `family` (at its voltage),
    length_km = weight x `km_per_weight`. The first terminal is a substation with spare capacity for
    all the others, which are customers of `demand_kva` each. Both default to `steiner_import_defaults()`
    (weights as metres; a demand so small that neither capacity nor voltage drop binds, so the optimum
    is the Steiner tree).
    `.gr` files carry no coordinates: nodes are placed by a seeded spring layout, for the map only.
    """
    defaults = steiner_import_defaults()
    km_per_weight = defaults["km_per_weight"]["value"] if km_per_weight is None else km_per_weight
    demand_kva = defaults["terminal_demand_kva"]["value"] if demand_kva is None else demand_kva
    if km_per_weight <= 0 or demand_kva <= 0:
        raise InputError(f"from_steiner: km_per_weight {km_per_weight!r} and demand_kva {demand_kva!r} must both be > 0")
    conductors = load_conductors(catalogue)
    members = conductors[conductors["family"] == family]
    if members.empty:
        raise InputError(f"from_steiner: family {family!r} has no conductor in catalogue {catalogue!r}; "
                         f"allowed: {', '.join(sorted(conductors['family'].unique()))}")
    cable = str(members["unit_cost_cny"].idxmin())
    problem = read_gr(path)
    ids = "n" + problem.nodes["node"].astype(str)
    root, *others = problem.terminals
    kind = np.where(problem.nodes["is_terminal"], "customer", "junction").astype(object)
    kind[problem.nodes["node"].to_numpy() == root] = "substation"
    is_customer = kind == "customer"
    xy = _spring_xy(problem, km_per_weight)
    nodes = pd.DataFrame({"id": ids, "x_m": xy[:, 0], "y_m": xy[:, 1], "kind": kind,
                          "voltage_kv": float(members.at[cable, "voltage_kv"]),
                          "spare_capacity_kva": np.where(kind == "substation", demand_kva * len(others), 0.0),
                          "demand_kva": np.where(is_customer, demand_kva, 0.0)})
    edges = problem.edges
    corridors = pd.DataFrame({"id": "e" + (edges["edge"] + 1).astype(str), "from_node": "n" + edges["from_node"].astype(str),
                              "to_node": "n" + edges["to_node"].astype(str),
                              "length_km": edges["weight"].to_numpy() * km_per_weight,
                              "allowed_std_types": cable, "cost_multiplier": 1.0, "status": "candidate"})
    return network_from_frames(nodes, corridors, catalogue, source=str(path))


def _spring_xy(problem, km_per_weight: float) -> np.ndarray:
    """Node coordinates in metres: spring layout (seed 0) scaled so an edge is about its mean length."""
    graph = nx.Graph()
    graph.add_nodes_from(problem.nodes["node"])
    graph.add_edges_from(zip(problem.edges["from_node"], problem.edges["to_node"]))
    layout = nx.spring_layout(graph, seed=0, iterations=30)
    xy = np.array([layout[n] for n in problem.nodes["node"]])
    mean_m = max(float(problem.edges["weight"].mean()) * km_per_weight * 1000, 1.0) if len(problem.edges) else 1.0
    return (xy * mean_m * np.sqrt(len(xy))).round(1)


def write_network(network: Network, directory: str | Path) -> Path:
    """nodes.csv, corridors.csv and customers.csv (customer nodes with demand) of a network directory."""
    folder = Path(directory)
    nodes = network.nodes.reset_index()[list(NODE_COLUMNS + NODE_OPTIONAL)]
    files.write_csv(nodes, folder / "nodes.csv")
    corridors = network.corridors.reset_index()
    corridors["allowed_std_types"] = corridors["allowed_std_types"].map(";".join)
    files.write_csv(corridors[list(CORRIDOR_COLUMNS)], folder / "corridors.csv")
    files.write_csv(customers_from_nodes(network), folder / "customers.csv")
    return folder
