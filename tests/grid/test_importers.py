"""pandapower's mv_oberrhein as the existing network; coordinates projected with pyproj; new customers by
coordinates; candidate corridors by geometry; Steiner instances."""

import json
import math
import sys

import numpy as np
import pandas as pd
import pandapower.networks as pn
import pytest

from costmodel.errors import InputError
from costmodel.grid.importers import (attach_customers, bus_xy, candidate_corridors, from_pandapower, from_steiner,
                                      load_pandapower, load_simbench, metric_crs, network_from_pandapower, write_network)
from costmodel.grid.radial import extract, prepare, solve
from costmodel.grid.network import customers_from_nodes, load_grid_limits, load_network, network_from_frames
from tests_support import PACE, require_shared


@pytest.fixture(scope="module")
def oberrhein():
    net = pn.mv_oberrhein()
    return net, *from_pandapower(net)


def test_mv_oberrhein_imports_as_existing_network(oberrhein):
    net, nodes, corridors, crs = oberrhein
    assert (nodes["voltage_kv"] == 20).all()                       # the 110 kV side is dropped
    feeders = nodes[nodes["kind"] == "feeder_point"]
    assert len(feeders) == len(net.trafo)                             # two 110/20 kV transformers
    # spare = rating minus the loading found by the power flow of the net itself
    loading = net.res_trafo["loading_percent"]
    expected = (net.trafo["sn_mva"] * 1000 * (1 - loading / 100)).sum()
    assert feeders["spare_capacity_kva"].sum() == pytest.approx(expected, abs=1)
    assert (corridors["status"] == "existing").all()
    # every in-service line but the 6 behind an open switch (the rings' normally-open points: lines 8, 23, 31, 66, 88, 188)
    open_points = net.switch.loc[(net.switch["et"] == "l") & ~net.switch["closed"], "element"]
    assert sorted(open_points) == [8, 23, 31, 66, 88, 188]
    assert len(corridors) == int((net.line["in_service"]).sum()) - 6
    assert not corridors["id"].isin([f"l{line}" for line in open_points]).any()
    network = network_from_frames(nodes, corridors)                   # validates as a network
    assert len(network.nodes) == len(nodes)
    # each line keeps the load the net's own power flow puts on it: the new customers get what is left
    line = net.line.index[net.line["in_service"]][0]
    carried = math.sqrt(3) * 20 * net.res_line.at[line, "i_ka"] * 1000
    assert carried > 0 and corridors.set_index("id").at[f"l{line}", "existing_load_kva"] == pytest.approx(carried, abs=0.05)
    options = network.options[network.options["corridor_id"] == f"l{line}"]
    std_type = corridors.set_index("id").at[f"l{line}", "allowed_std_types"]
    rating = math.sqrt(3) * 20 * network.options.loc[options.index, "ampacity_a"].iloc[0]
    assert options.loc[options["std_type"] == std_type, "capacity_kva"].iloc[0] == pytest.approx(rating - round(carried, 1))
    # longitude 7.8 E, latitude 48.4 N: projected to the WGS84 UTM zone 32N (6-12 E)
    assert crs == "EPSG:32632"


def _haversine_m(lon1, lat1, lon2, lat2, radius_m=6_371_008.8):
    """Great-circle distance on the mean Earth sphere: an independent check of the projection."""
    p1, p2, dp, dl = map(math.radians, (lat1, lat2, lat2 - lat1, lon2 - lon1))
    return 2 * radius_m * math.asin(math.sqrt(math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2))


def test_projected_distances_match_the_great_circle_distance(oberrhein):
    net = oberrhein[0]
    xy, _ = bus_xy(net)
    lonlat = net.bus["geo"].map(lambda g: json.loads(g)["coordinates"])
    a, b = lonlat.index[0], lonlat.index[-1]                      # two buses several km apart
    projected = math.dist(xy.loc[a], xy.loc[b])
    great_circle = _haversine_m(*lonlat[a], *lonlat[b])
    assert projected > 1_000
    # UTM's scale factor is 0.9996 on the central meridian (9 E) and about 1.0000 at 7.8 E; the sphere is not
    # the ellipsoid: 0.3 % covers both
    assert projected == pytest.approx(great_circle, rel=3e-3)


def test_a_net_in_china_gets_the_cgcs2000_gauss_kruger_zone_of_its_meridian():
    # Jinan, 117.0 E: the 3-degree zone with central meridian 117 E is EPSG:4534 + (117 - 75) / 3 = EPSG:4548
    assert metric_crs(np.array([117.0, 117.1]), np.array([36.6, 36.7])) == "EPSG:4548"
    from pyproj import CRS
    assert "CM 117E" in CRS.from_user_input("EPSG:4548").name
    # Lyon, 4.8 E: WGS84 UTM zone 31N (0-6 E)
    assert metric_crs(np.array([4.8]), np.array([45.7])) == "EPSG:32631"


def test_schematic_coordinates_are_kept_as_they_are():
    net = pn.create_cigre_network_mv()          # bus coordinates 0..16, a drawing, not degrees of a real place
    xy, crs = bus_xy(net)
    assert crs == ""
    first = json.loads(net.bus["geo"].iloc[0])["coordinates"]
    assert list(xy.iloc[0]) == first


def _two_feeder_nodes():
    nodes = pd.DataFrame({"id": ["F", "A", "B", "C"], "x_m": [0.0, 1000.0, 0.0, 5000.0], "y_m": [0.0, 0.0, 1000.0, 5000.0],
                          "kind": ["feeder_point", "junction", "junction", "junction"], "voltage_kv": 10.0,
                          "spare_capacity_kva": [5000.0, 0, 0, 0], "demand_kva": 0.0})
    corridors = pd.DataFrame({"id": ["FA", "FB", "AC"], "from_node": ["F", "F", "A"], "to_node": ["A", "B", "C"],
                              "length_km": [1.0, 1.0, 6.4], "allowed_std_types": "YJV22-8.7/15-3x70",
                              "cost_multiplier": 1.0, "status": "existing"})
    return nodes, corridors


def test_a_new_customer_gets_candidate_corridors_to_its_nearest_nodes():
    nodes, corridors = _two_feeder_nodes()
    new = pd.DataFrame({"application_id": ["shop"], "x_m": [300.0], "y_m": [400.0], "demand_kva": [250]})
    all_nodes, all_corridors, customers = attach_customers(nodes, corridors, new, crs="")
    added = all_corridors[all_corridors["status"] == "candidate"].set_index("to_node")
    # the three nearest (candidate_neighbours = 3): F at 500 m, B at hypot(300, 600) = 670.8 m, A at
    # hypot(700, 400) = 806.2 m; C (6.4 km away) is not one; each x detour_factor 1.3
    assert sorted(added.index) == ["A", "B", "F"]
    assert added.loc["F", "length_km"] == pytest.approx(0.5 * 1.3)
    assert added.loc["B", "length_km"] == pytest.approx(math.hypot(300, 600) / 1000 * 1.3, abs=1e-4)
    assert added.loc["A", "length_km"] == pytest.approx(math.hypot(700, 400) / 1000 * 1.3, abs=1e-4)
    assert (added["from_node"] == "shop").all()
    shop = all_nodes.set_index("id").loc["shop"]
    assert (shop["kind"], shop["voltage_kv"], shop["demand_kva"]) == ("customer", 10.0, 250)
    assert customers.values.tolist() == [["shop", "shop", 250]]
    network = network_from_frames(all_nodes, all_corridors)     # a valid network, every 10 kV cable allowed
    assert len(network.options[network.options["corridor_id"] == added["id"].iloc[0]]) > 1


def test_new_customers_by_longitude_and_latitude_are_projected_like_the_net(oberrhein):
    net = oberrhein[0]
    lon, lat = json.loads(net.bus["geo"].iloc[5])["coordinates"]
    new = pd.DataFrame({"application_id": ["on-bus-5"], "lon": [lon], "lat": [lat], "demand_kva": [400]})
    network = network_from_pandapower(net, new, source="mv_oberrhein")
    # placed exactly on bus 5: its nearest candidate corridor is the shortest allowed, 1 m x 1.3
    assert network.nodes.loc["on-bus-5", ["x_m", "y_m"]].tolist() == pytest.approx(network.nodes.loc["b5", ["x_m", "y_m"]].tolist())
    links = network.corridors[network.corridors["from_node"] == "on-bus-5"]
    assert links.set_index("to_node").loc["b5", "length_km"] == pytest.approx(0.0013)


@pytest.mark.parametrize("new, message", [
    (pd.DataFrame({"application_id": ["F"], "x_m": [1.0], "y_m": [1.0], "demand_kva": [10]}), "application_id 'F'"),
    (pd.DataFrame({"application_id": ["a"], "x_m": [1.0], "y_m": [1.0], "demand_kva": [0]}), "column demand_kva: value 0"),
    (pd.DataFrame({"application_id": ["a"], "demand_kva": [5]}), "no coordinates; required: columns lon, lat"),
    (pd.DataFrame({"application_id": ["a"], "lon": [7.0], "lat": [48.0], "demand_kva": [5]}), "no geographic CRS"),
    (pd.DataFrame({"application_id": ["a"], "x_m": [1.0], "y_m": [1.0], "demand_kva": [5], "voltage_kv": [35]}),
     "at 35 kV: the network has no node at that voltage"),
])
def test_bad_new_customers_are_refused_naming_the_value(new, message):
    nodes, corridors = _two_feeder_nodes()
    with pytest.raises(InputError, match=message):
        attach_customers(nodes, corridors, new, crs="")


def test_a_pandapower_net_by_name_or_file(tmp_path):
    import pandapower as pp

    with pytest.raises(InputError, match="'case9' is not allowed; allowed: mv_oberrhein"):
        load_pandapower("case9")
    with pytest.raises(InputError, match="no such file"):
        load_pandapower(tmp_path / "missing.json")
    pp.to_json(pn.simple_mv_open_ring_net(), str(tmp_path / "ring.json"))
    assert len(load_pandapower(tmp_path / "ring.json").bus) == 7


def test_simbench_is_an_optional_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "simbench", None)       # as if not installed
    with pytest.raises(InputError, match=r"pip install 'costmodel\[simbench\]'"):
        load_simbench("1-MV-rural--0-sw")


def test_an_unknown_simbench_code_lists_some_allowed_ones():
    pytest.importorskip("simbench")
    with pytest.raises(InputError, match="SimBench code 'MV-nowhere' is not allowed; allowed: .*1-MV-rural--0-sw"):
        load_simbench("MV-nowhere")


def test_delaunay_and_knn_candidates():
    nodes = pd.DataFrame({"id": list("ABCD"), "x_m": [0, 1000, 0, 1000], "y_m": [0, 0, 1000, 1000], "voltage_kv": 10})
    assert candidate_corridors(nodes)["length_km"].min() == pytest.approx(1.3)   # detour_factor of network-import.yaml
    tri = candidate_corridors(nodes, detour=1.0)
    assert len(tri) == 5                                              # four sides and one diagonal
    assert sorted(tri["length_km"])[:4] == [1.0, 1.0, 1.0, 1.0]
    knn = candidate_corridors(nodes, method="knn", k=1, detour=1.0)
    assert set(knn["length_km"]) == {1.0}
    existing = pd.DataFrame({"from_node": ["B"], "to_node": ["A"]})
    assert len(candidate_corridors(nodes, existing=existing)) == 4
    assert (candidate_corridors(nodes, max_km=1.2)["length_km"] <= 1.2).all()
    with pytest.raises(InputError, match="allowed: delaunay, knn"):
        candidate_corridors(nodes, method="mst")


# cheapest 10 kV cable of the catalogue: YJV22-8.7/15-3x70 at 420,000 CNY/km, so one unit of weight
# (a metre by default) costs 420 CNY
CNY_PER_WEIGHT = 420


def test_a_small_steiner_instance_becomes_a_network(tmp_path):
    gr = tmp_path / "tiny.gr"
    # a star through node 4 (weight 2 + 2 + 2 = 6) beats the path 1-2-3 (weight 5 + 5 = 10)
    gr.write_text("SECTION Graph\nNodes 4\nEdges 5\nE 1 2 5\nE 2 3 5\nE 1 4 2\nE 2 4 2\nE 3 4 2\nEND\n\n"
                  "SECTION Terminals\nTerminals 3\nT 1\nT 2\nT 3\nEND\n\nEOF\n")
    network = from_steiner(gr)
    nodes = network.nodes
    assert nodes.loc["n1", "kind"] == "substation" and nodes.loc["n4", "kind"] == "junction"
    assert list(nodes.index[nodes["kind"] == "customer"]) == ["n2", "n3"]
    assert nodes.loc["n1", "spare_capacity_kva"] == 2.0                  # room for both 1-kVA terminals
    assert network.corridors.loc["e1", "length_km"] == pytest.approx(0.005)
    assert network.options["cost_cny"].tolist() == pytest.approx([w * CNY_PER_WEIGHT for w in (5, 5, 2, 2, 2)])
    written = load_network(write_network(network, tmp_path / "net"))
    pd.testing.assert_frame_equal(written.options, network.options)
    assert list(pd.read_csv(tmp_path / "net" / "customers.csv")["node_id"]) == ["n2", "n3"]
    customers = customers_from_nodes(written)
    instance = prepare(written, customers, load_grid_limits("national-1996"))
    design = extract(instance, solve(instance, time_limit_s=20, mip_gap=1e-6))
    assert design.report["objective_cny"] == pytest.approx(6 * CNY_PER_WEIGHT)
    assert sorted(design.corridors["corridor_id"]) == ["e3", "e4", "e5"]


def test_steiner_import_conventions_come_from_the_tariffs_file(tariffs_copy, tmp_path):
    gr = tmp_path / "tiny.gr"
    gr.write_text("SECTION Graph\nNodes 2\nEdges 1\nE 1 2 5\nEND\nSECTION Terminals\nTerminals 2\nT 1\nT 2\nEND\nEOF\n")
    conventions = tariffs_copy / "grid" / "steiner-import.yaml"
    text = conventions.read_text(encoding="utf-8")
    conventions.write_text(text.replace("{2018-01-01: 0.001}", "{2018-01-01: 0.002}")
                           .replace("{2018-01-01: 1}", "{2018-01-01: 3}"), encoding="utf-8")
    network = from_steiner(gr)
    assert network.corridors.loc["e1", "length_km"] == pytest.approx(0.010)     # 5 x 0.002 km
    assert network.nodes.loc["n2", "demand_kva"] == 3.0
    assert network.nodes.loc["n1", "spare_capacity_kva"] == 3.0


def test_steiner_import_errors_name_the_value(tmp_path):
    gr = tmp_path / "tiny.gr"
    gr.write_text("SECTION Graph\nNodes 2\nEdges 1\nE 1 2 5\nEND\nSECTION Terminals\nTerminals 2\nT 1\nT 2\nEND\nEOF\n")
    with pytest.raises(InputError, match="family 'hv_cable'.*allowed: .*mv_cable"):
        from_steiner(gr, family="hv_cable")
    with pytest.raises(InputError, match="km_per_weight 0"):
        from_steiner(gr, km_per_weight=0)


def test_a_pace_instance_optimised_as_a_capacitated_network_costs_its_optimum(tmp_path):
    require_shared(PACE / "instance056.gr")
    network = load_network(write_network(from_steiner(PACE / "instance056.gr"), tmp_path / "net"))
    instance = prepare(network, customers_from_nodes(network), load_grid_limits("national-1996"))
    # 10 customers: the multi-commodity formulation's tight LP proves the optimum in seconds (the
    # default single-commodity one is still at a 28 % gap after 60 s)
    design = extract(instance, solve(instance, time_limit_s=60, mip_gap=1e-6, formulation="multicommodity"))
    assert design.report["status"] == "optimal"
    assert design.report["objective_cny"] == pytest.approx(302 * CNY_PER_WEIGHT)      # optima.csv: 302
    assert design.corridors["length_km"].sum() == pytest.approx(0.302)


def test_an_imported_folder_keeps_its_net_and_which_bus_and_line_each_node_and_corridor_is(tmp_path):
    from costmodel.grid.importers import imported_net

    net = pn.simple_mv_open_ring_net()
    net.bus["geo"] = [json.dumps({"type": "Point", "coordinates": [100.0 * i, 0.0]}) for i in range(len(net.bus))]
    net["profiles"] = {"load": pd.DataFrame({"p": [1.0, 2.0]})}      # a time series the folder does not keep
    network = network_from_pandapower(net, source="ring")
    folder = write_network(network, tmp_path / "net", net)
    kept = imported_net(folder)
    # the 110 kV bus 0 is above the feeder point (bus 1, the transformer's 20 kV side): no node maps to it
    assert kept.bus_of_node == {f"b{b}": b for b in range(1, 7)}
    # every line of the ring but line 3, behind its open switch (bus 4's side)
    assert kept.line_of_corridor == {f"l{line}": line for line in (0, 1, 2, 4, 5)}
    assert (len(kept.net.bus), len(kept.net.line), len(kept.net.load)) == (len(net.bus), len(net.line), len(net.load))
    assert "profiles" not in kept.net and kept.crs == ""
    assert imported_net(write_network(network, tmp_path / "plain")) is None        # written without its net
    meta = json.loads((folder / "network.json").read_text())
    meta["pandapower"]["bus_of_node"]["b1"] = 99
    (folder / "network.json").write_text(json.dumps(meta))
    with pytest.raises(InputError, match="bus or line 99 is not in .*pandapower.json; the folder and its net do not match"):
        imported_net(folder)
