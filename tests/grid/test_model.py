"""Hand-solved networks: the optimiser must find the design worked out below by hand.

Catalogue figures used (tariffs/catalogs/cn-indicative-2019): 3x70 cable 420,000 CNY/km, 215 A,
r 0.268, x 0.111 ohm/km; 3x240 cable 680,000 CNY/km, 430 A; JKLYJ-10-70 overhead 352,500 CNY/km,
250 A, r 0.443, x 0.35 ohm/km. Limits of national-1996: 7% drop, power factor 0.9.
Drop in % = S[kVA] * L[km] * (r*0.9 + x*sqrt(1-0.81)) / (10 * 10 kV^2).
"""

import math

import numpy as np
import pandas as pd
import pytest

from costmodel.errors import InputError
from costmodel.grid.model import evaluate, extract, greedy_attach, greedy_design, prepare, regret_assignment, solve
from costmodel.grid.network import GridLimits, load_grid_limits, network_from_frames

CABLE70, CABLE240 = "YJV22-8.7/15-3x70", "YJV22-8.7/15-3x240"
OVERHEAD70 = "JKLYJ-10-70"
SIN = math.sqrt(1 - 0.9 ** 2)


def build(nodes, corridors, customers):
    """nodes: (id, kind, spare, demand) at 10 kV; corridors: (id, a, b, km, types[, status])."""
    node_frame = pd.DataFrame([{"id": n, "x_m": i * 100.0, "y_m": 0.0, "kind": k, "voltage_kv": 10,
                                "spare_capacity_kva": s, "demand_kva": d} for i, (n, k, s, d) in enumerate(nodes)])
    corridor_frame = pd.DataFrame([{"id": c[0], "from_node": c[1], "to_node": c[2], "length_km": c[3],
                                    "allowed_std_types": c[4], "cost_multiplier": 1.0,
                                    "status": c[5] if len(c) > 5 else "candidate"} for c in corridors])
    network = network_from_frames(node_frame, corridor_frame)
    customer_frame = pd.DataFrame([{"application_id": a, "node_id": n, "demand_kva": d} for a, n, d in customers])
    return network, customer_frame


def optimise(network, customers, limits=None):
    limits = limits or load_grid_limits("national-1996")
    inst = prepare(network, customers, limits)
    return extract(inst, solve(inst, time_limit_s=20, mip_gap=1e-6))


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


def voltage_case(overhead_km=4.5):
    # F1: 4.5 km overhead JKLYJ-10-70, 1,586,250 CNY, drop 3000*4.5*(0.443*0.9+0.35*0.436)/1000 = 7.44% > 7%
    # F2: 5.0 km cable 3x70, 2,100,000 CNY, drop 3000*5*(0.268*0.9+0.111*0.436)/1000 = 4.34%
    return build([("F1", "feeder_point", 5000, 0), ("F2", "feeder_point", 5000, 0), ("C", "customer", 0, 3000)],
                 [("OH", "F1", "C", overhead_km, OVERHEAD70), ("UG", "F2", "C", 5.0, CABLE70)],
                 [("app-1", "C", 3000)])


def test_voltage_drop_forces_the_other_feeder():
    network, customers = voltage_case()
    loose = GridLimits(20.0, 0.9, {})
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


def test_infeasible_voltage_names_customer_and_limit():
    network, customers = build([("F1", "feeder_point", 5000, 0), ("C", "customer", 0, 3000)],
                               [("OH", "F1", "C", 4.5, OVERHEAD70)], [("app-9", "C", 3000)])
    design = optimise(network, customers)
    assert design.report["status"] == "infeasible"
    text = design.report["diagnosis"][0]
    assert "app-9" in text and "node C" in text and "7%" in text and "grid.voltage_deviation_limit" in text
    assert "7.44%" in text   # the least possible drop, worked out above
    assert design.corridors.empty


def test_infeasible_capacity_and_reachability_named():
    network, customers = build(
        [("F", "feeder_point", 4000, 0), ("C", "customer", 0, 5000), ("D", "customer", 0, 100), ("J", "junction", 0, 0)],
        [("L1", "F", "C", 1.0, CABLE240), ("L2", "J", "D", 1.0, CABLE70)],
        [("big", "C", 5000), ("island", "D", 100)])
    design = optimise(network, customers)
    assert design.report["status"] == "infeasible"
    big, island = design.report["diagnosis"]
    assert "big" in big and "capacity" in big and "4000 kVA" in big      # the feeder's spare capacity binds
    assert "island" in island and "cannot be reached" in island


def test_sources_together_too_small():
    network, customers = build(
        [("F", "feeder_point", 3000, 0), ("C1", "customer", 0, 2000), ("C2", "customer", 0, 2000)],
        [("L1", "F", "C1", 1.0, CABLE70), ("L2", "F", "C2", 1.0, CABLE70)],
        [("a", "C1", 2000), ("b", "C2", 2000)])
    design = optimise(network, customers)
    assert design.report["status"] == "infeasible"
    assert "4000 kVA" in design.report["diagnosis"][0] and "3000 kVA" in design.report["diagnosis"][0]


def test_existing_cable_is_free_and_radial_result():
    # existing F-J cable costs nothing; the customer hangs off J by a new 0.3 km cable (126,000)
    network, customers = build(
        [("F", "feeder_point", 5000, 0), ("J", "junction", 0, 0), ("C", "customer", 0, 1000)],
        [("E1", "F", "J", 1.0, CABLE70, "existing"), ("N1", "J", "C", 0.3, CABLE70), ("N2", "F", "C", 0.35, CABLE70)],
        [("app-1", "C", 1000)])
    design = optimise(network, customers)
    assert design.report["objective_cny"] == pytest.approx(126_000)
    assert set(design.corridors["change"]) == {"existing", "new"}
    assert design.nodes["node_id"].is_unique


def test_without_the_solver_the_warm_start_comes_back_with_a_clear_status(monkeypatch):
    import costmodel.grid.model as model

    class MissingHighs:
        def available(self):
            return False

    monkeypatch.setattr(model, "Highs", MissingHighs)
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


# New transformers at candidate sites. Catalogue figures: S13-M-100/10 68,000 CNY (100 kVA),
# S13-M-160/10 85,000, S13-M-200/10 98,000; 4x120 LV cable 160,000 CNY/km, 270 A (187 kVA at
# 0.4 kV), r 0.153, x 0.077 ohm/km. LV drop in % = S * L * (0.153*0.9 + 0.077*0.436) / (10 * 0.4^2).
LV240 = "YJV22-0.6/1-4x240"
LV_DROP_PER_KVA_KM = (0.153 * 0.9 + 0.077 * SIN) / 1.6


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


def test_infeasible_transformer_capacity_names_the_limit(tariffs_copy, transformer_case):
    catalogue = tariffs_copy / "catalogs" / "cn-indicative-2019" / "unit_costs.csv"
    items = pd.read_csv(catalogue)
    items = items[(items["family"] != "transformer") | (items["rating_kva"] <= 100)]
    items.to_csv(catalogue, index=False)
    # 150 kVA: a 4x240 LV cable carries it (277 kVA) but the catalogue's largest transformer is 100 kVA
    network, customers = transformer_case(0.55, [150], public_spare=0, lv_type=LV240)
    design = optimise(network, customers)
    assert design.report["status"] == "infeasible"
    assert ("at most 100 kVA reach it, limited by the largest transformer size at candidate site X "
            "(S13-M-100/10, 100 kVA)") in design.report["diagnosis"][0]
    network, customers = transformer_case(0.55, [150], feeder_spare=80, public_spare=0, lv_type=LV240)
    with_feeder_limit = optimise(network, customers)
    assert "limited by the spare capacity of F (80 kVA)" in with_feeder_limit.report["diagnosis"][0]


def test_candidate_transformer_needs_a_higher_voltage_hv_node(transformer_case):
    network, _ = transformer_case(0.4, [100])
    nodes = network.nodes.reset_index()
    with pytest.raises(InputError, match=r"line 4 \(id 'X'\), column hv_node: value 'Q' is not a node id"):
        network_from_frames(nodes.assign(hv_node=nodes["hv_node"].replace("J", "Q")), network.corridors.reset_index())
    with pytest.raises(InputError, match=r"column hv_node: node 'T' is at 0.4 kV, not above the site's 0.4 kV"):
        network_from_frames(nodes.assign(hv_node=nodes["hv_node"].replace("J", "T")), network.corridors.reset_index())
    with pytest.raises(InputError, match=r"only candidate_transformer nodes have an hv_node"):
        network_from_frames(nodes.assign(hv_node="J"), network.corridors.reset_index())


def test_the_warm_start_grows_a_site_to_the_larger_size(transformer_case):
    # largest first: C1 (100 kVA) through X with 100 kVA (68,000 + 8,000); then C2 (80 kVA) upgrades X
    # to 200 kVA (+30,000) and adds its cable (8,000): 114,000, the optimum
    network, customers = transformer_case(0.3, [100, 80], public_spare=50)
    inst = prepare(network, customers, load_grid_limits("national-1996"))
    tree = evaluate(inst, greedy_design(inst))
    assert tree.feasible and tree.cost_cny == pytest.approx(114_000)
    assert inst.options.loc[tree.chosen, "std_type"].tolist().count("S13-M-200/10") == 1


def test_a_stuck_warm_start_is_retried_with_the_stuck_customer_first():
    # A (950 kVA) takes the cheap way F1-J-A (F1 has 1000 kVA spare); then C (100 kVA at 0.4 kV, only
    # reachable through site X behind J) is stuck: F1 has 50 kVA left and F2's way runs through A.
    # With C first: F1-J-X-C, then A from F2 (1 km, 420,000): 42,000 + 68,000 + 8,000 + 420,000.
    nodes = pd.DataFrame([
        {"id": "F1", "kind": "feeder_point", "voltage_kv": 10, "spare_capacity_kva": 1000},
        {"id": "F2", "kind": "feeder_point", "voltage_kv": 10, "spare_capacity_kva": 5000},
        {"id": "J", "kind": "junction", "voltage_kv": 10},
        {"id": "A", "kind": "customer", "voltage_kv": 10, "demand_kva": 950},
        {"id": "X", "kind": "candidate_transformer", "voltage_kv": 0.4, "hv_node": "J"},
        {"id": "C", "kind": "customer", "voltage_kv": 0.4, "demand_kva": 100}]).assign(x_m=lambda f: 100.0 * f.index, y_m=0.0)
    corridors = pd.DataFrame([{"id": i, "from_node": a, "to_node": b, "length_km": km, "allowed_std_types": t,
                               "cost_multiplier": 1.0, "status": "candidate"}
                              for i, a, b, km, t in [("F1J", "F1", "J", 0.1, CABLE70), ("JA", "J", "A", 0.1, CABLE70),
                                                     ("F2A", "F2", "A", 1.0, CABLE70), ("XC", "X", "C", 0.05, "YJV22-0.6/1-4x120")]])
    network = network_from_frames(nodes, corridors)
    customers = pd.DataFrame({"application_id": ["a", "c"], "node_id": ["A", "C"], "demand_kva": [950, 100]})
    inst = prepare(network, customers, load_grid_limits("national-1996"))
    a, c = (inst.node_ids.index(n) for n in ("A", "C"))
    assert greedy_attach(inst, [a, c]) == (None, c)                        # largest demand first gets stuck at C
    assert evaluate(inst, greedy_design(inst, tries=1)).cost_cny == pytest.approx(538_000)
    assert optimise(network, customers).report["objective_cny"] == pytest.approx(538_000)


def test_the_regret_assignment_saves_the_feeder_a_customer_needs():
    # F1 and F2 have 1,000 kVA spare each; B (900 kVA) is 0.1 km from F1 and 0.2 km from F2; A (600 kVA)
    # is 0.3 km from F1 and reaches F2 only through B (0.2 + 0.3 km). Largest demand first takes F1 for
    # B; then F1 has 100 kVA left and A's only other way runs through B: walled in. Regret: A 0.5 - 0.3
    # = 0.2 km, B 0.2 - 0.1 = 0.1 km, so A takes F1 first and B goes to F2 (F1 has 400 kVA left):
    # F1-A 0.3 km + F2-B 0.2 km of 3x70 at 420,000 CNY/km = 210,000 CNY, the optimum (F1 alone
    # cannot carry 1,500 kVA, nor can F2).
    network, customers = build(
        [("F1", "feeder_point", 1000, 0), ("F2", "feeder_point", 1000, 0), ("A", "customer", 0, 600), ("B", "customer", 0, 900)],
        [("F1A", "F1", "A", 0.3, CABLE70), ("F1B", "F1", "B", 0.1, CABLE70), ("F2B", "F2", "B", 0.2, CABLE70),
         ("BA", "B", "A", 0.3, CABLE70)],
        [("app-a", "A", 600), ("app-b", "B", 900)])
    inst = prepare(network, customers, load_grid_limits("national-1996"))
    f1, f2, a, b = (inst.node_ids.index(n) for n in ("F1", "F2", "A", "B"))
    assert greedy_attach(inst, [b, a]) == (None, a)
    assert regret_assignment(inst) == ([a, b], {a: f1, b: f2})
    chosen, stuck = greedy_attach(inst, *regret_assignment(inst))
    assert stuck is None and evaluate(inst, chosen).cost_cny == pytest.approx(210_000)
    assert sorted(inst.options.loc[chosen, "corridor_id"]) == ["F1A", "F2B"]
    assert evaluate(inst, greedy_design(inst, tries=0)).cost_cny == pytest.approx(210_000)
    assert optimise(network, customers).report["objective_cny"] == pytest.approx(210_000)


def test_progress_reports_valid_bounds_and_ends_at_the_result():
    from pathlib import Path

    from costmodel.grid.network import load_customers, load_network

    park = Path(__file__).resolve().parents[2] / "examples" / "park"
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


def _triangle():
    """Feeder F, junction J, customer C; corridors F-J, J-C and F-C."""
    network, customers = build([("F", "feeder_point", 5000, 0), ("J", "junction", 0, 0), ("C", "customer", 0, 500)],
                               [("FJ", "F", "J", 1.0, CABLE70), ("JC", "J", "C", 1.0, CABLE70), ("FC", "F", "C", 3.0, CABLE70)],
                               [("app-1", "C", 500)])
    return prepare(network, customers, load_grid_limits("national-1996"))


def _arc(inst, corridor, head):
    arcs = inst.arcs
    return int(arcs.index[(arcs["corridor_id"] == corridor) & (arcs["head"] == inst.node_ids.index(head))][0])


def test_a_customer_fed_by_less_than_one_arc_gets_a_cut_row():
    from costmodel.grid.model import connectivity_cuts

    inst = _triangle()
    built = np.zeros(len(inst.arcs))
    built[_arc(inst, "FJ", "J")] = 1.0
    built[_arc(inst, "JC", "C")] = 0.2
    built[_arc(inst, "FC", "C")] = 0.3
    # 0.2 + 0.3 arcs enter {C}: C is fed by half an arc; the row "arcs into {C} >= 1" is violated
    (entering, inside), = connectivity_cuts(inst, built, np.ones(1))
    assert sorted(entering.tolist()) == sorted([_arc(inst, "JC", "C"), _arc(inst, "FC", "C")])
    assert inside.tolist() == []
    # fed by a whole arc (0.6 + 0.4): no row, although neither arc is whole
    built[_arc(inst, "JC", "C")], built[_arc(inst, "FC", "C")] = 0.6, 0.4
    assert connectivity_cuts(inst, built, np.ones(1)) == []
    # the feeder itself half open: the cut holds the feeder and names its root arc
    (entering, inside), = connectivity_cuts(inst, built, np.array([0.5]))
    assert inside.tolist() == [0] and entering.tolist() == []


def test_cut_rounds_keep_the_optimum():
    inst = _triangle()
    plain, with_cuts = solve(inst, 20, 1e-6), solve(inst, 20, 1e-6, cut_rounds=5)
    # F-J-C (2 km) beats F-C (3 km) at the 70 mm² cable's 420,000 CNY/km
    assert plain.objective_cny == with_cuts.objective_cny == pytest.approx(2 * 420_000)
    assert with_cuts.bound_cny <= with_cuts.objective_cny + 1e-6
