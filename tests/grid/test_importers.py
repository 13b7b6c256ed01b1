"""pandapower's mv_oberrhein as the existing network; candidate corridors by geometry; Steiner instances."""

from pathlib import Path

import pandas as pd
import pandapower.networks as pn
import pytest

from costmodel.errors import InputError
from costmodel.grid.importers import candidate_corridors, from_pandapower, from_steiner, write_network
from costmodel.grid.model import extract, prepare, solve
from costmodel.grid.network import customers_from_nodes, load_grid_limits, load_network, network_from_frames
from tests_support import PACE, require_shared


@pytest.fixture(scope="module")
def oberrhein():
    net = pn.mv_oberrhein()
    return net, *from_pandapower(net)


def test_mv_oberrhein_imports_as_existing_network(oberrhein):
    net, nodes, corridors = oberrhein
    assert (nodes["voltage_kv"] == 20).all()                       # the 110 kV side is dropped
    feeders = nodes[nodes["kind"] == "feeder_point"]
    assert len(feeders) == len(net.trafo)                             # two 110/20 kV transformers
    # spare = rating minus the loading found by the power flow of the net itself
    loading = net.res_trafo["loading_percent"]
    expected = (net.trafo["sn_mva"] * 1000 * (1 - loading / 100)).sum()
    assert feeders["spare_capacity_kva"].sum() == pytest.approx(expected, abs=1)
    assert (corridors["status"] == "existing").all()
    assert len(corridors) == int((net.line["in_service"]).sum())
    network = network_from_frames(nodes, corridors)                   # validates as a network
    assert len(network.nodes) == len(nodes)
    # coordinates projected to metres: the Oberrhein area spans kilometres, not degrees
    assert 5_000 < nodes["x_m"].max() < 100_000


def test_delaunay_and_knn_candidates():
    nodes = pd.DataFrame({"id": list("ABCD"), "x_m": [0, 1000, 0, 1000], "y_m": [0, 0, 1000, 1000], "voltage_kv": 10})
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
