"""Solving hand-solved networks: the optimiser must find the design worked out by hand (figures in cases.py)."""

import pytest

from costmodel.grid.network import GridLimits, load_grid_limits
from costmodel.grid.radial import prepare, solve
from tests.grid.radial.cases import CABLE70, CABLE240, LV_DROP_PER_KVA_KM, SIN, build, optimise, triangle, voltage_case


def test_one_route():
    network, customers = build([("F", "feeder_point", 5000, 0), ("C", "customer", 0, 2000)],
                               [("L1", "F", "C", 1.0, CABLE70)], [("app-1", "C", 2000)])
    design = optimise(network, customers)
    assert design.report["status"] == "optimal"
    assert design.report["objective_cny"] == pytest.approx(420_000)
    assert list(design.corridors["corridor_id"]) == ["L1"]
    assert design.corridors.iloc[0]["from_node"] == "F"
    expected_drop = 2000 * 1.0 * (0.268 * 0.9 + 0.111 * SIN) / 1000
    assert design.customers.iloc[0]["drop_pct"] == pytest.approx(expected_drop)


def test_two_routes_cheaper_one_chosen():
    # via J1: 0.5 + 0.5 km = 420,000; via J2: 0.6 + 0.6 km = 504,000
    network, customers = build(
        [("F", "feeder_point", 5000, 0), ("J1", "junction", 0, 0), ("J2", "junction", 0, 0), ("C", "customer", 0, 1000)],
        [("A1", "F", "J1", 0.5, CABLE70), ("A2", "J1", "C", 0.5, CABLE70),
         ("B1", "F", "J2", 0.6, CABLE70), ("B2", "J2", "C", 0.6, CABLE70)],
        [("app-1", "C", 1000)])
    design = optimise(network, customers)
    assert set(design.corridors["corridor_id"]) == {"A1", "A2"}
    assert design.report["objective_cny"] == pytest.approx(420_000)


def test_capacity_forces_larger_conductor():
    # 3x70 carries sqrt(3)*10*215 = 3,724 kVA < 5,000; 3x240 carries 7,448 kVA
    network, customers = build([("F", "feeder_point", 8000, 0), ("C", "customer", 0, 5000)],
                               [("L1", "F", "C", 2.0, f"{CABLE70};{CABLE240}")], [("app-1", "C", 5000)])
    design = optimise(network, customers)
    assert design.corridors.iloc[0]["std_type"] == CABLE240
    assert design.report["objective_cny"] == pytest.approx(2 * 680_000)


def test_voltage_drop_forces_the_other_feeder():
    network, customers = voltage_case()
    loose = GridLimits(20.0, 0.9, 100.0, {})
    assert list(optimise(network, customers, loose).corridors["corridor_id"]) == ["OH"]
    design = optimise(network, customers)
    assert list(design.corridors["corridor_id"]) == ["UG"]
    assert design.report["objective_cny"] == pytest.approx(2_100_000)
    assert design.customers.iloc[0]["source_node"] == "F2"
    assert design.customers.iloc[0]["drop_pct"] == pytest.approx(3000 * 5 * (0.268 * 0.9 + 0.111 * SIN) / 1000)


def test_lazy_rows_and_full_rows_agree_on_the_voltage_case():
    network, customers = voltage_case()
    inst = prepare(network, customers, load_grid_limits("national-1996"))
    lazy = solve(inst, 20, 1e-6, voltage_rows="lazy", warm_start=False)
    full = solve(inst, 20, 1e-6, formulation="plain", voltage_rows="all", warm_start=False)
    mcf = solve(inst, 20, 1e-6, formulation="multicommodity", voltage_rows="lazy")
    assert lazy.objective_cny == full.objective_cny == mcf.objective_cny == pytest.approx(2_100_000)
    assert lazy.iterations == 2 and lazy.voltage_rows >= 1  # first round picks F1, then its row is added


def test_without_the_solver_the_warm_start_comes_back_with_a_clear_status(monkeypatch):
    import costmodel.grid.radial.solver as solve_module

    class MissingHighs:
        def available(self):
            return False

    monkeypatch.setattr(solve_module, "Highs", MissingHighs)
    network, customers = build([("F", "feeder_point", 5000, 0), ("C", "customer", 0, 2000)],
                               [("L1", "F", "C", 1.0, CABLE70)], [("app-1", "C", 2000)])
    design = optimise(network, customers)
    assert design.report["status"] == "solver_unavailable"
    assert design.report["objective_cny"] == pytest.approx(420_000)  # the only route, found by the heuristic
    assert "not available" in design.report["diagnosis"][0]


def test_the_optimiser_never_costs_more_than_the_standard_design():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from costmodel.application import parse_application
    from costmodel.params import load_ruleset
    from costmodel.quote import quote_application

    @settings(max_examples=6, deadline=None)
    @given(st.floats(0.1, 2.0), st.floats(200, 2000), st.lists(st.floats(0.05, 2.0), min_size=2, max_size=2))
    def check(direct_km, demand_kva, detour_km):
        # At 200 kVA and more the connection is at 10 kV. The standard design runs a cable along the
        # direct route (urban, smallest cable covering the
        # current); the optimiser may take it or a cheaper detour, never pay more.
        network, customers = build(
            [("F", "feeder_point", 50_000, 0), ("J", "junction", 0, 0), ("C", "customer", 0, demand_kva)],
            [("D", "F", "C", direct_km, ""), ("A", "F", "J", detour_km[0], ""), ("B", "J", "C", detour_km[1], "")],
            [("app", "C", demand_kva)])
        design = optimise(network, customers)
        standard = quote_application(parse_application({
            "id": "app", "application_date": "2019-09-02",
            "applicant": {"kind": "enterprise", "enterprise": {"size_class": "large"}},
            "site": {"area": "urban", "distance_to_lv_m": 0, "distance_to_10kv_m": direct_km * 1000, "transformer_headroom_kva": 0},
            "request": {"capacity": demand_kva}}), load_ruleset("shandong-2019"))
        line_cny = sum(line.amount_cny for line in standard.lines if line.design_rule.endswith("mv.line"))
        assert design.report["status"] == "optimal"
        assert design.report["objective_cny"] <= line_cny + 0.5  # the quote's line is rounded to the yuan

    check()


def test_a_new_transformer_beats_a_long_lv_cable(transformer_case):
    # via T: 0.55 km x 160,000 = 88,000 (drop 5.9 %); new 100 kVA transformer 68,000 + 0.05 km x 160,000 = 76,000
    network, customers = transformer_case(0.55, [100])
    design = optimise(network, customers)
    assert design.report["status"] == "optimal"
    assert design.report["objective_cny"] == pytest.approx(76_000)
    new = design.transformers.iloc[0]
    assert (new["node_id"], new["hv_node"], new["std_type"], new["flow_kva"]) == ("X", "J", "S13-M-100/10", 100)
    assert list(design.corridors.loc[design.corridors["change"] == "new", "corridor_id"]) == ["X1"]
    # the secondary starts at nominal voltage: only the 50 m LV cable drops
    assert design.customers.iloc[0]["drop_pct"] == pytest.approx(100 * 0.05 * LV_DROP_PER_KVA_KM)
    assert design.customers.iloc[0]["source_node"] == "F"


def test_a_short_lv_cable_beats_a_new_transformer(transformer_case):
    # via T: 0.4 km x 160,000 = 64,000 < 76,000
    network, customers = transformer_case(0.4, [100])
    design = optimise(network, customers)
    assert design.report["objective_cny"] == pytest.approx(64_000)
    assert design.transformers.empty
    assert list(design.corridors["corridor_id"]) == ["T1"]
    assert design.customers.iloc[0]["drop_pct"] == pytest.approx(100 * 0.4 * LV_DROP_PER_KVA_KM)


def test_capacity_forces_the_larger_transformer(transformer_case):
    # 100 + 80 = 180 kVA behind X: 160 kVA is too small, 200 kVA (98,000) it is; T has only 50 kVA spare
    network, customers = transformer_case(0.3, [100, 80], public_spare=50)
    design = optimise(network, customers)
    assert design.report["objective_cny"] == pytest.approx(98_000 + 2 * 8_000)
    assert design.transformers["std_type"].tolist() == ["S13-M-200/10"]
    assert design.transformers["loading_pct"].iloc[0] == pytest.approx(90)


def test_progress_reports_valid_bounds_and_ends_at_the_result():
    from pathlib import Path

    from costmodel.grid.network import load_customers, load_network

    park = Path(__file__).resolve().parents[3] / "examples" / "park"
    network = load_network(park)
    inst = prepare(network, load_customers(park / "customers.csv", network), load_grid_limits("national-1996"))
    samples = []
    result = solve(inst, time_limit_s=60, mip_gap=1e-6, on_progress=samples.append)
    assert result.status == "optimal"
    # first the warm start alone (no bound yet), last the proven result
    assert samples[0]["incumbent_cny"] == pytest.approx(result.warm_start_cny) and samples[0]["bound_cny"] is None
    assert samples[-1]["incumbent_cny"] == pytest.approx(result.objective_cny)
    assert samples[-1]["bound_cny"] == pytest.approx(result.bound_cny)
    seconds = [s["seconds"] for s in samples]
    assert seconds == sorted(seconds)
    # every bound shown is a lower bound of the optimum; the bound never falls
    bounds = [s["bound_cny"] for s in samples if s["bound_cny"] is not None]
    assert bounds == sorted(bounds) and max(bounds) <= result.objective_cny + 1e-6
    assert len(samples) >= 3   # warm start, at least one report from inside HiGHS, the end


def test_cut_rounds_keep_the_optimum():
    inst = triangle()
    plain, with_cuts = solve(inst, 20, 1e-6, cut_rounds=0), solve(inst, 20, 1e-6, cut_rounds=5)
    # F-J-C (2 km) beats F-C (3 km) at the 70 mm² cable's 420,000 CNY/km
    assert plain.objective_cny == with_cuts.objective_cny == pytest.approx(2 * 420_000)
    assert with_cuts.bound_cny <= with_cuts.objective_cny + 1e-6


def test_an_existing_cable_s_own_load_leaves_the_new_customer_too_little():
    from costmodel.grid.network import network_from_frames

    # F - existing 3x70 (1 km, 3,723.9 kVA) - C: free for 1,000 kVA new, unless it carries 3,000 kVA already;
    # then only its reinforcement to 3x240 (680,000 CNY/km, 7,447.8 kVA, less the 3,000) carries both
    def case(existing_load_kva):
        network, customers = build([("F", "feeder_point", 9000, 0), ("C", "customer", 0, 1000)],
                                   [("E", "F", "C", 1.0, f"{CABLE70};{CABLE240}", "existing")], [("app", "C", 1000)])
        corridors = network.corridors.reset_index().assign(existing_load_kva=existing_load_kva)
        corridors["allowed_std_types"] = corridors["allowed_std_types"].map(";".join)
        return network_from_frames(network.nodes.reset_index(), corridors), customers

    assert optimise(*case(0)).report["objective_cny"] == 0
    loaded = optimise(*case(3000))
    assert loaded.report["objective_cny"] == pytest.approx(680_000)
    assert loaded.corridors["std_type"].tolist() == [CABLE240] and loaded.corridors["change"].tolist() == ["reinforced"]
