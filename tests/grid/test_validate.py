"""AC power flow of a design beside the linear estimate (hand figures from test_model's formulae)."""

import math

import pandas as pd
import pytest

from costmodel.grid.model import extract, prepare, solve
from costmodel.grid.network import load_grid_limits, network_from_frames
from costmodel.grid.validate import design_to_pandapower, validate_design


def one_route(km=3.0, kva=3000):
    nodes = pd.DataFrame([{"id": "F", "x_m": 0, "y_m": 0, "kind": "feeder_point", "voltage_kv": 10, "spare_capacity_kva": 8000, "demand_kva": 0},
                          {"id": "C", "x_m": 3000, "y_m": 0, "kind": "customer", "voltage_kv": 10, "spare_capacity_kva": 0, "demand_kva": kva}])
    corridors = pd.DataFrame([{"id": "L", "from_node": "F", "to_node": "C", "length_km": km, "allowed_std_types": "YJV22-8.7/15-3x70",
                               "cost_multiplier": 1, "status": "candidate"}])
    network = network_from_frames(nodes, corridors)
    inst = prepare(network, pd.DataFrame([{"application_id": "a", "node_id": "C", "demand_kva": kva}]), load_grid_limits("national-1996"))
    return network, extract(inst, solve(inst, 20, 1e-6))


def test_ac_close_to_linear_and_hand_figures():
    network, design = one_route()
    result = validate_design(design, network)
    summary = result["summary"]
    linear_drop = 3000 * 3.0 * (0.268 * 0.9 + 0.111 * math.sqrt(0.19)) / 1000       # 2.606%
    assert summary["worst_voltage_pu_linear"] == pytest.approx(1 - linear_drop / 100)
    assert summary["worst_voltage_node"] == "C"
    assert summary["worst_voltage_pu_ac"] == pytest.approx(1 - linear_drop / 100, abs=0.003)
    # 3,000 kVA at 10 kV is 173.2 A on a 215 A cable: 80.6%; AC current a little higher (lower voltage)
    assert summary["max_loading_pct_linear"] == pytest.approx(3000 / (math.sqrt(3) * 10 * 215) * 100)
    assert summary["max_loading_pct_ac"] == pytest.approx(summary["max_loading_pct_linear"], rel=0.04)
    assert summary["max_loading_pct_ac"] > summary["max_loading_pct_linear"]
    assert result["violations"] == []


def test_violations_are_flagged():
    network, design = one_route()
    design.report["voltage_limit_pct"] = 1.0      # a stricter limit than the design was made for
    result = validate_design(design, network)
    assert result["summary"]["violations"] == 1
    assert "node C: AC voltage" in result["violations"][0] and "0.9900 pu" in result["violations"][0]


def test_pandapower_net_layout():
    network, design = one_route()
    net = design_to_pandapower(design, network)
    assert len(net.ext_grid) == 1 and len(net.line) == 1 and len(net.load) == 1
    assert net.line.iloc[0]["max_i_ka"] == pytest.approx(0.215)
    assert net.load.iloc[0]["p_mw"] == pytest.approx(2.7)        # 3,000 kVA x 0.9
