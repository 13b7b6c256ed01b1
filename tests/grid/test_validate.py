"""AC power flow of a design beside the linear estimate (hand figures from test_model's formulae)."""

import math

import pandas as pd
import pytest

from costmodel.grid.radial import extract, prepare, solve
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


def test_a_new_transformer_is_a_source_and_a_load(transformer_case):
    # 100 kVA through a new transformer at X: X is an ext_grid at 1.0 pu, J carries a 100 kVA load
    network, customers = transformer_case(0.55, [100])
    inst = prepare(network, customers, load_grid_limits("national-1996"))
    design = extract(inst, solve(inst, 20, 1e-6))
    net = design_to_pandapower(design, network)
    assert sorted(net.ext_grid["name"]) == ["F", "X"]
    at_j = net.load[net.load["bus"] == net.bus.index[net.bus["name"] == "J"][0]]
    assert at_j["p_mw"].sum() == pytest.approx(0.1 * 0.9) and at_j["q_mvar"].sum() == pytest.approx(0.1 * math.sqrt(0.19))
    result = validate_design(design, network)
    lv_drop = 100 * 0.05 * (0.153 * 0.9 + 0.077 * math.sqrt(0.19)) / 1.6       # 0.54 % on the 50 m LV cable
    buses = result["buses"].set_index("node_id")
    assert buses.loc["C1", "vm_pu_ac"] == pytest.approx(1 - lv_drop / 100, abs=0.002)
    assert buses.loc["X", "vm_pu_ac"] == pytest.approx(1.0)
    # the transformer's AC load is its secondary's supply, losses of the LV cable included: 144 A on 50 m of
    # 4x120 (0.153 + j0.077 ohm/km) adds 3 I^2 Z = 0.48 kW + 0.24 kvar to 90 kW + 43.6 kvar: 100.54 kVA
    amps = 100 / (math.sqrt(3) * 0.4)
    loss_kw, loss_kvar = 3 * amps ** 2 * 0.153 * 0.05 / 1000, 3 * amps ** 2 * 0.077 * 0.05 / 1000
    expected = math.hypot(90 + loss_kw, 100 * math.sqrt(0.19) + loss_kvar)
    transformer = result["lines"].set_index("corridor_id").loc["X:transformer"]
    assert transformer["loading_pct_linear"] == pytest.approx(100)
    assert transformer["loading_pct_ac"] == pytest.approx(expected, abs=0.05)      # 100 kVA rating
    assert result["violations"] == [f"corridor X:transformer (S13-M-100/10): AC loading {expected:.1f}% above 100% "
                                    "(linear estimate 100.0%)"]
