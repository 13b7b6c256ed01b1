"""pandapower's mv_oberrhein as the existing network; candidate corridors by geometry."""

import pandas as pd
import pandapower.networks as pn
import pytest

from costmodel.errors import InputError
from costmodel.grid.importers import candidate_corridors, from_pandapower
from costmodel.grid.network import network_from_frames


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
