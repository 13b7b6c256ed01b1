"""Networks from elsewhere: a pandapower net as the existing network; candidate corridors by geometry.

`load_pandapower` / `load_simbench` read a net (a pandapower built-in or JSON file; a SimBench code);
`from_pandapower` maps medium-voltage buses to nodes (buses above the feeder points are dropped; transformer low-voltage
buses feeder points with the spare capacity left by the net's own loads in a power flow, buses with
loads junctions), in-service lines not behind an open switch to existing corridors with the catalogue conductor of the nearest
ampacity (overhead lines to mv_overhead, cables to mv_cable) as installed type; longitude/latitude are
projected with pyproj (`bus_xy`). `attach_customers` joins new customers given by coordinates and demand.
`candidate_corridors` proposes new corridors between nodes by Delaunay triangulation or k nearest
neighbours (scipy.spatial), lengths from coordinates times a detour factor (streets are not straight).
`from_steiner` maps an STP/`.gr` Steiner instance to a network: edges become candidate corridors of
the catalogue's cheapest cable, length = weight x `km_per_weight`, so a design's cost is the tree's
weight x (cable price per km x km_per_weight); the first terminal is the source, the others customers.
`write_network` writes a network directory (nodes.csv, corridors.csv, customers.csv); given the pandapower net it
came from, also the net itself (pandapower.json) and, in network.json, which bus and line each node and corridor
is, so the AC check runs on the whole net and a design can be exported into it (`imported_net`, grid/validate.py).
"""

from __future__ import annotations

import copy
import json
import math
from dataclasses import dataclass
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import pandapower as pp
from pandapower.powerflow import LoadflowNotConverged
from scipy.spatial import Delaunay, cKDTree

from costmodel import files
from costmodel.errors import CostmodelError, InputError
from costmodel.grid.network import (CORRIDOR_COLUMNS, CORRIDOR_OPTIONAL, DEFAULT_CATALOGUE, DEFAULT_FAMILY, MAX_NETWORK_META_BYTES, NETWORK_META, NODE_COLUMNS,
                                    NODE_OPTIONAL, Network, customers_from_nodes, load_conductors, network_from_frames)
from costmodel.grid.stp import read_gr
from costmodel.params.parameter import parameters_in_force
from costmodel.paths import tariffs_dir
from costmodel.yamlio import read_text


# pandapower's built-in nets that carry bus coordinates and a transformer to feed from (`import-pandapower NAME`)
PANDAPOWER_NETS = ("mv_oberrhein", "create_cigre_network_mv", "simple_mv_open_ring_net", "lv_schutterwald")
WGS84 = "EPSG:4326"
CGCS2000 = "EPSG:4490"
# China's extent in degrees (lon_min, lat_min, lon_max, lat_max): a net inside it is projected to CGCS2000 Gauss-Krüger
CHINA_BOUNDS = (73.0, 3.0, 136.0, 54.0)
# a distribution net in degrees spans well under this; a wider span means the coordinates are schematic units
MAX_LONLAT_SPAN_DEG = 2.0
PANDAPOWER_FILE = "pandapower.json"   # the imported net itself, beside nodes.csv (recorded in network.json)
# tables of a net the snapshot power flow does not read and the folder does not keep: SimBench's year of
# quarter-hour profiles is 13 MB of JSON and 1.7 s to read, for each optimisation
DROPPED_TABLES = ("profiles",)


@dataclass
class ImportedNet:
    """The pandapower net an imported network folder came from, and which bus / line each node / corridor is."""

    net: object                       # pandapowerNet
    bus_of_node: dict[str, int]
    line_of_corridor: dict[str, int]
    crs: str                          # the folder's CRS ("": the net's own coordinates are x_m, y_m)


def node_id_of_bus(bus) -> str:
    return f"b{bus}"


def corridor_id_of_line(line) -> str:
    return f"l{line}"


def load_pandapower(source: str | Path):
    """A pandapower net: the name of a built-in net (PANDAPOWER_NETS) or a pandapower JSON file."""
    path = Path(source)
    if path.suffix.lower() == ".json":
        if not path.is_file():
            raise InputError(f"pandapower net {str(path)!r}: no such file; allowed: a pandapower JSON file "
                             f"or a built-in net ({', '.join(PANDAPOWER_NETS)})")
        try:
            return pp.from_json(str(path))
        except (ValueError, KeyError, TypeError) as error:
            raise InputError(f"{path}: not a pandapower net ({error})") from None
    if str(source) not in PANDAPOWER_NETS:
        raise InputError(f"pandapower net {str(source)!r} is not allowed; allowed: {', '.join(PANDAPOWER_NETS)} "
                         "or a pandapower JSON file (*.json)")
    import pandapower.networks as networks

    return getattr(networks, str(source))()


def load_simbench(code: str):
    """A SimBench grid by its code (e.g. 1-MV-rural--0-sw); the optional `simbench` package ships them."""
    try:
        import simbench
    except ImportError:
        raise InputError("SimBench grids need the optional simbench package: pip install 'costmodel[simbench]' "
                         "(or pip install simbench)") from None
    codes = simbench.collect_all_simbench_codes()
    if code not in codes:
        raise InputError(f"SimBench code {code!r} is not allowed; allowed: a SimBench code such as "
                         f"{', '.join(c for c in codes if '-MV-' in c and c.endswith('--0-sw'))} "
                         f"({len(codes)} codes: simbench.collect_all_simbench_codes())")
    return simbench.get_simbench_net(code)


def run_power_flow(net, what: str, **options) -> None:
    """pandapower's AC power flow of `net`; one that does not converge is an error naming `what`, not a traceback."""
    try:
        pp.runpp(net, numba=False, **options)   # numba is not a dependency
    except LoadflowNotConverged:
        raise CostmodelError(f"the AC power flow of {what} did not converge ({len(net.bus)} buses, "
                             f"{net.load['p_mw'].sum():.3f} MW of load): no voltages or loadings to check") from None


def from_pandapower(net, catalogue=DEFAULT_CATALOGUE, crs: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """nodes and corridors frames (network.csv layout) of a pandapower net's in-service part, and their CRS."""
    run_power_flow(net, "the imported net itself (its existing loads give the lines' existing_load_kva)")
    xy, crs = bus_xy(net, crs)
    buses = net.bus[net.bus["in_service"]]
    nodes = pd.DataFrame({"id": buses.index.map(node_id_of_bus), "x_m": xy.loc[buses.index, "x"].round(2).to_numpy(),
                          "y_m": xy.loc[buses.index, "y"].round(2).to_numpy(), "kind": "junction",
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
    # a line behind an open switch (a normally-open point of a ring) carries nothing: no route for the new load either,
    # or the design would count on a path the net's power flow, and so the whole-net AC check, does not take
    switch = net.switch
    open_lines = switch.loc[(switch["et"] == "l") & ~switch["closed"].astype(bool), "element"]
    lines = net.line[net.line["in_service"] & net.line["from_bus"].isin(nodes.index) & net.line["to_bus"].isin(nodes.index)
                     & ~net.line.index.isin(open_lines)]
    family = np.where(lines["type"].astype(str).str.startswith("ol"), "mv_overhead", "mv_cable")
    ampacity = lines["max_i_ka"].to_numpy() * 1000
    installed = [_nearest(conductors, f, a) for f, a in zip(family, ampacity)]
    corridors = pd.DataFrame({
        "id": lines.index.map(corridor_id_of_line), "from_node": lines["from_bus"].map(node_id_of_bus).to_numpy(),
        "to_node": lines["to_bus"].map(node_id_of_bus).to_numpy(), "length_km": lines["length_km"].round(4).to_numpy(),
        "allowed_std_types": installed, "cost_multiplier": 1.0, "status": "existing",
        # the net's own power flow on the line, as kVA at nominal voltage: the new customers get what it leaves
        "existing_load_kva": (math.sqrt(3) * net.bus.loc[lines["from_bus"], "vn_kv"].to_numpy()
                              * net.res_line.loc[lines.index, "i_ka"].to_numpy() * 1000).round(1)})
    return nodes.reset_index(drop=True), corridors, crs


def network_from_pandapower(net, new_customers: pd.DataFrame | None = None, crs: str | None = None,
                            source: str = "pandapower", catalogue: str = DEFAULT_CATALOGUE) -> Network:
    """A pandapower net as a validated network (`from_pandapower`), with new customers attached (`attach_customers`)."""
    nodes, corridors, crs = from_pandapower(net, catalogue, crs)
    if new_customers is not None:
        nodes, corridors, _ = attach_customers(nodes, corridors, new_customers, crs, f"{source} customers")
    return network_from_frames(nodes, corridors, catalogue, source=source, crs=crs)


def bus_xy(net, crs: str | None = None) -> tuple[pd.DataFrame, str]:
    """Bus coordinates in metres from pandapower's GeoJSON `bus.geo` column, and their CRS.

    Longitude/latitude (WGS84) are projected with pyproj to `crs`, by default CGCS2000 3-degree
    Gauss-Krüger (the zone of the net's central meridian) inside China and the WGS84 UTM zone elsewhere.
    Coordinates that are not longitude/latitude (schematic nets) are kept as they are, CRS "".
    """
    geo = net.bus["geo"] if "geo" in net.bus else pd.Series(None, index=net.bus.index)
    coords = geo.map(lambda g: json.loads(g)["coordinates"] if isinstance(g, str) else [np.nan, np.nan])
    xy = pd.DataFrame(coords.tolist(), index=net.bus.index, columns=["x", "y"])
    if xy.isna().any().any():
        raise InputError(f"pandapower net: bus {xy.index[xy.isna().any(axis=1)][0]} has no coordinates in bus.geo; "
                         "allowed: a net whose buses all have GeoJSON points")
    if not _is_lonlat(xy["x"].to_numpy(), xy["y"].to_numpy()):
        return xy, ""
    x, y, crs = project_lonlat(xy["x"].to_numpy(), xy["y"].to_numpy(), crs)
    return pd.DataFrame({"x": x, "y": y}, index=xy.index), crs


def _is_lonlat(x: np.ndarray, y: np.ndarray) -> bool:
    in_range = np.abs(x).max() <= 180 and np.abs(y).max() <= 90
    return bool(in_range and np.ptp(x) <= MAX_LONLAT_SPAN_DEG and np.ptp(y) <= MAX_LONLAT_SPAN_DEG)


def metric_crs(lon: np.ndarray, lat: np.ndarray) -> str:
    """CGCS2000 3-degree Gauss-Krüger zone (EPSG:4534-4554, central meridians 75-135 E) inside China,
    else the WGS84 UTM zone, of the points' centre."""
    from pyproj.aoi import AreaOfInterest
    from pyproj.database import query_utm_crs_info

    lon0, lat0 = float(np.mean(lon)), float(np.mean(lat))
    west, south, east, north = CHINA_BOUNDS
    if west <= lon0 <= east and south <= lat0 <= north:
        meridian = min(max(round(lon0 / 3) * 3, 75), 135)
        return f"EPSG:{4534 + (meridian - 75) // 3}"
    zones = query_utm_crs_info(datum_name="WGS 84", area_of_interest=AreaOfInterest(lon0, lat0, lon0, lat0))
    return f"{zones[0].auth_name}:{zones[0].code}"


def project_lonlat(lon: np.ndarray, lat: np.ndarray, crs: str | None = None) -> tuple[np.ndarray, np.ndarray, str]:
    """Longitude/latitude (WGS84) to metres in `crs` (default: `metric_crs`); x, y and the CRS used."""
    from pyproj import CRS, Transformer
    from pyproj.exceptions import CRSError

    crs = crs or metric_crs(lon, lat)
    try:
        target = CRS.from_user_input(crs)
    except CRSError:
        raise InputError(f"CRS {crs!r} is not allowed; allowed: a projected CRS pyproj knows, e.g. EPSG:32632 or EPSG:4547") from None
    if not target.is_projected:
        raise InputError(f"CRS {crs!r} ({target.name}) is not projected; allowed: a CRS in metres, e.g. EPSG:32632 or EPSG:4547")
    x, y = Transformer.from_crs(WGS84, target, always_xy=True).transform(np.asarray(lon, float), np.asarray(lat, float))
    return np.asarray(x), np.asarray(y), crs


def network_import_defaults() -> dict[str, dict]:
    """detour_factor and candidate_neighbours, with unit and reference, from tariffs/grid/network-import.yaml."""
    return parameters_in_force(tariffs_dir() / "grid" / "network-import.yaml")


def attach_customers(nodes: pd.DataFrame, corridors: pd.DataFrame, new: pd.DataFrame, crs: str,
                     file: str = "customers") -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """New customers by coordinates joined to an imported network by candidate corridors.

    `new`: application_id, demand_kva and either lon, lat (WGS84, projected to the network's `crs`) or
    x_m, y_m (already in it); optional voltage_kv (default: the highest voltage of the network's feeder
    points). Each customer becomes a customer node (id = application_id) with candidate corridors to its
    `candidate_neighbours` nearest nodes of its voltage, straight distance x `detour_factor` (and any
    cable of the catalogue allowed). Returns nodes, corridors and customers (application_id, node_id, demand_kva).
    """
    for column in ("application_id", "demand_kva"):
        if column not in new.columns:
            raise InputError(f"{file}: missing column {column}; required: application_id, demand_kva and lon, lat or x_m, y_m")
    ids = new["application_id"].astype(str).str.strip()
    clash = ids.isin(nodes["id"]) | ids.duplicated() | (ids == "")
    if clash.any():
        raise InputError(f"{file} row {int(np.flatnonzero(clash)[0]) + 2}: application_id {ids[clash].iloc[0]!r} is empty, "
                         "repeated or the id of a network node; allowed: a new unique id")
    demand = pd.to_numeric(new["demand_kva"], errors="coerce")
    bad = ~(demand > 0)
    if bad.any():
        raise InputError(f"{file} row {int(np.flatnonzero(bad)[0]) + 2}, column demand_kva: value "
                         f"{new['demand_kva'][bad].iloc[0]} is not allowed; allowed: a number > 0")
    x, y = _customer_xy(new, crs, file)
    feeders = nodes[nodes["kind"].isin(("feeder_point", "substation"))]
    default_kv = float(feeders["voltage_kv"].max() if len(feeders) else nodes["voltage_kv"].max())
    voltage = pd.to_numeric(new["voltage_kv"], errors="coerce").fillna(default_kv) if "voltage_kv" in new else default_kv
    customer_nodes = pd.DataFrame({"id": ids.to_numpy(), "x_m": np.round(x, 2), "y_m": np.round(y, 2), "kind": "customer",
                                   "voltage_kv": voltage, "spare_capacity_kva": 0.0, "demand_kva": demand.to_numpy()})
    defaults = network_import_defaults()
    k = int(defaults["candidate_neighbours"]["value"])
    detour = float(defaults["detour_factor"]["value"])
    links = []
    for kv, group in customer_nodes.groupby("voltage_kv"):
        targets = nodes[np.isclose(nodes["voltage_kv"], kv) & (nodes["kind"] != "candidate_transformer")]
        if targets.empty:
            raise InputError(f"{file}: customer {group['id'].iloc[0]!r} at {kv:g} kV: the network has no node at that voltage; "
                             f"allowed: {', '.join(f'{v:g}' for v in sorted(nodes['voltage_kv'].unique()))} kV")
        distance, nearest = cKDTree(targets[["x_m", "y_m"]].to_numpy(float)).query(
            group[["x_m", "y_m"]].to_numpy(float), k=min(k, len(targets)))
        distance, nearest = distance.reshape(len(group), -1), nearest.reshape(len(group), -1)
        for customer, row_d, row_n in zip(group["id"], distance, nearest):
            links += [(customer, targets["id"].iloc[j], max(d, 1.0) / 1000 * detour) for d, j in zip(row_d, row_n)]
    links = pd.DataFrame(links, columns=["from_node", "to_node", "length_km"])
    new_corridors = links.assign(id=[f"new{i + 1}" for i in range(len(links))], allowed_std_types="", cost_multiplier=1.0,
                                 status="candidate", length_km=links["length_km"].round(4))
    customers = pd.DataFrame({"application_id": ids.to_numpy(), "node_id": ids.to_numpy(), "demand_kva": demand.to_numpy()})
    return (pd.concat([nodes, customer_nodes], ignore_index=True),
            pd.concat([corridors, new_corridors[list(CORRIDOR_COLUMNS)]], ignore_index=True), customers)


def _customer_xy(new: pd.DataFrame, crs: str, file: str) -> tuple[np.ndarray, np.ndarray]:
    """Customer coordinates in the network's CRS: lon/lat projected, or x_m/y_m as given."""
    pair = ("lon", "lat") if {"lon", "lat"} <= set(new.columns) else ("x_m", "y_m") if {"x_m", "y_m"} <= set(new.columns) else None
    if pair is None:
        raise InputError(f"{file}: no coordinates; required: columns lon, lat (WGS84) or x_m, y_m (the network's CRS)")
    values = new[list(pair)].apply(pd.to_numeric, errors="coerce")
    bad = values.isna().any(axis=1)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise InputError(f"{file} row {row + 2}: coordinates {tuple(new[list(pair)].iloc[row])!r} are not numbers")
    if pair == ("x_m", "y_m"):
        return values["x_m"].to_numpy(), values["y_m"].to_numpy()
    if not crs:
        raise InputError(f"{file}: lon, lat given but the network has no geographic CRS (schematic coordinates); "
                         "allowed: x_m, y_m in the network's own units")
    x, y, _ = project_lonlat(values["lon"].to_numpy(), values["lat"].to_numpy(), crs)
    return x, y


def _nearest(conductors: pd.DataFrame, family: str, ampacity_a: float) -> str:
    """std_type of `family` whose ampacity is nearest to the line's."""
    rows = conductors[conductors["family"] == family]
    return str((rows["ampacity_a"] - ampacity_a).abs().idxmin())


def candidate_corridors(nodes: pd.DataFrame, method: str = "delaunay", k: int = 4, detour: float | None = None,
                        existing: pd.DataFrame | None = None, max_km: float | None = None,
                        allowed_std_types: str = "", prefix: str = "cand") -> pd.DataFrame:
    """Candidate corridors between nodes of one voltage, skipping pairs an existing corridor joins.

    method "delaunay" (planar, like streets) or "knn" (each node to its k nearest); length =
    straight distance x `detour` (default: detour_factor of `network_import_defaults`); `max_km` drops longer pairs.
    """
    detour = float(network_import_defaults()["detour_factor"]["value"]) if detour is None else detour
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


def write_network(network: Network, directory: str | Path, net=None) -> Path:
    """nodes.csv, corridors.csv and customers.csv (customer nodes with demand) of a network directory; network.json
    (CRS, source) when there is a CRS or a net. With `net`, the pandapower net the network was imported from: written
    to pandapower.json (without DROPPED_TABLES), and network.json maps node ids to its buses and corridor ids to its
    lines."""
    folder = Path(directory)
    nodes = network.nodes.reset_index()[list(NODE_COLUMNS + NODE_OPTIONAL)]
    files.write_csv(nodes, folder / "nodes.csv")
    corridors = network.corridors.reset_index()
    corridors["allowed_std_types"] = corridors["allowed_std_types"].map(";".join)
    files.write_csv(corridors[list(CORRIDOR_COLUMNS + CORRIDOR_OPTIONAL)], folder / "corridors.csv")
    files.write_csv(customers_from_nodes(network), folder / "customers.csv")
    meta = {"crs": network.crs, "source": network.source}
    if net is not None:
        kept = copy.deepcopy(net)
        for table in DROPPED_TABLES:
            kept.pop(table, None)
        files.write_text(folder / PANDAPOWER_FILE, pp.to_json(kept))
        buses = pd.Series(net.bus.index.map(node_id_of_bus), index=net.bus.index)
        lines = pd.Series(net.line.index.map(corridor_id_of_line), index=net.line.index)
        meta["pandapower"] = {
            "file": PANDAPOWER_FILE, "dropped_tables": list(DROPPED_TABLES),
            "bus_of_node": {node: int(bus) for bus, node in buses[buses.isin(network.nodes.index)].items()},
            "line_of_corridor": {corridor: int(line) for line, corridor in lines[lines.isin(network.corridors.index)].items()}}
    if network.crs or net is not None:
        files.write_text(folder / NETWORK_META, json.dumps(meta, indent=2) + "\n")
    return folder


def imported_net(directory: str | Path) -> ImportedNet | None:
    """The pandapower net of an imported network folder (`write_network` with a net), None for any other folder."""
    folder = Path(directory)
    meta_path = folder / NETWORK_META
    if not meta_path.is_file():
        return None
    meta = json.loads(read_text(meta_path, "a JSON file", MAX_NETWORK_META_BYTES))
    entry = meta.get("pandapower") if isinstance(meta, dict) else None
    if entry is None:
        return None
    try:
        path = folder / entry["file"]
        bus_of_node = {str(k): int(v) for k, v in entry["bus_of_node"].items()}
        line_of_corridor = {str(k): int(v) for k, v in entry["line_of_corridor"].items()}
    except (KeyError, TypeError, ValueError, AttributeError):
        raise InputError(f"{meta_path}: pandapower {entry!r} is not allowed; allowed: {{\"file\": ..., \"bus_of_node\": "
                         "{node: bus}, \"line_of_corridor\": {corridor: line}}, as network import-pandapower writes it") from None
    net = load_pandapower(path)
    missing = sorted(set(bus_of_node.values()) - set(net.bus.index)) or sorted(set(line_of_corridor.values()) - set(net.line.index))
    if missing:
        raise InputError(f"{meta_path}: bus or line {missing[0]} is not in {path}; the folder and its net do not match")
    return ImportedNet(net, bus_of_node, line_of_corridor, str(meta.get("crs", "")))


def lonlat_of(x: np.ndarray, y: np.ndarray, crs: str) -> tuple[np.ndarray, np.ndarray]:
    """Metres in `crs` back to longitude/latitude (WGS84): the inverse of `project_lonlat`."""
    from pyproj import Transformer

    lon, lat = Transformer.from_crs(crs, WGS84, always_xy=True).transform(np.asarray(x, float), np.asarray(y, float))
    return np.asarray(lon), np.asarray(lat)
