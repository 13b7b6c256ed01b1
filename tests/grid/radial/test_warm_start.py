"""The greedy warm start: hand-worked orders, assignments and costs."""

import pandas as pd
import pytest

from costmodel.grid.network import load_grid_limits, network_from_frames
from costmodel.grid.radial import evaluate, prepare
from costmodel.grid.radial.warm_start import greedy_attach, greedy_design, regret_assignment
from tests.grid.radial.cases import CABLE70, build, optimise


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


def test_resize_gives_each_arc_the_cheapest_conductor_that_carries_its_flow():
    from costmodel.grid.radial.warm_start import resize
    from tests.grid.radial.cases import CABLE240

    def inst_with(demand_kva):
        network, customers = build([("F", "feeder_point", 9000, 0), ("C", "customer", 0, demand_kva)],
                                   [("L1", "F", "C", 1.0, f"{CABLE70};{CABLE240}")], [("app", "C", demand_kva)])
        inst = prepare(network, customers, load_grid_limits("national-1996"))
        opt = inst.options
        large = int(opt.index[(opt["std_type"] == CABLE240) & (opt["head"] == inst.node_ids.index("C"))][0])
        return inst, large

    # 1,000 kVA on the 3x240 (680,000 CNY): the 3x70 (3,723.9 kVA, 420,000 CNY) carries it
    inst, large = inst_with(1000)
    resized = resize(inst, [large])
    assert inst.options.loc[resized, "std_type"].tolist() == [CABLE70] and evaluate(inst, resized).cost_cny == pytest.approx(420_000)
    # 5,000 kVA: only the 3x240 carries it, so it stays
    inst, large = inst_with(5000)
    assert resize(inst, [large]) == [large]
