"""The model's rows: flow within capacity, and the per-customer cut rows added while solving."""

import numpy as np
import pytest

from costmodel.grid.network import load_grid_limits
from costmodel.grid.radial import prepare, solve
from costmodel.grid.radial.build import connectivity_cuts
from tests.grid.radial.cases import CABLE240, arc_index, build, triangle


def test_a_customer_fed_by_less_than_one_arc_gets_a_cut_row():
    inst = triangle()
    built = np.zeros(len(inst.arcs))
    built[arc_index(inst, "FJ", "J")] = 1.0
    built[arc_index(inst, "JC", "C")] = 0.2
    built[arc_index(inst, "FC", "C")] = 0.3
    # 0.2 + 0.3 arcs enter {C}: C is fed by half an arc; the row "arcs into {C} >= 1" is violated
    (entering, inside), = connectivity_cuts(inst, built, np.ones(1))
    assert sorted(entering.tolist()) == sorted([arc_index(inst, "JC", "C"), arc_index(inst, "FC", "C")])
    assert inside.tolist() == []
    # fed by a whole arc (0.6 + 0.4): no row, although neither arc is whole
    built[arc_index(inst, "JC", "C")], built[arc_index(inst, "FC", "C")] = 0.6, 0.4
    assert connectivity_cuts(inst, built, np.ones(1)) == []
    # the feeder itself half open: the cut holds the feeder and names its root arc
    (entering, inside), = connectivity_cuts(inst, built, np.array([0.5]))
    assert inside.tolist() == [0] and entering.tolist() == []


def lp_bound(inst):
    """The LP relaxation's optimum of the model."""
    import pyomo.environ as pyo
    from pyomo.contrib.appsi.solvers import Highs

    from costmodel.grid.radial.build import build_model

    m = build_model(inst)
    for var in [*m.build.values(), *m.use_source.values()]:
        var.domain = pyo.UnitInterval
    return Highs().solve(m).best_objective_bound


@pytest.mark.parametrize(("spare_kva", "expected_cny"), [
    # F - 1 km - J - 1 km - C (500 kVA), 3x240 cable: 680,000 CNY/km, sqrt(3) x 10 kV x 430 A = 7,447.8 kVA.
    # C's in-degree row builds J-C whole (680,000); F-J carries 500 kVA, at most the feeder's 1,000 kVA spare:
    # the LP builds 500 / 1,000 of it
    (1000, 680_000 + 500 / 1000 * 680_000),
    # spare above the cable's capacity: the row keeps the capacity, 500 / 7,447.8 of F-J
    (10_000, 680_000 + 500 / (3 ** 0.5 * 10 * 430) * 680_000),
])
def test_no_arc_is_planned_above_the_largest_spare_capacity(spare_kva, expected_cny):
    # a second feeder 10 km away that could feed C alone: F is not a source the others cannot do without
    network, customers = build([("F", "feeder_point", spare_kva, 0), ("F2", "feeder_point", spare_kva, 0),
                                ("J", "junction", 0, 0), ("C", "customer", 0, 500)],
                               [("FJ", "F", "J", 1.0, CABLE240), ("JC", "J", "C", 1.0, CABLE240),
                                ("F2J", "F2", "J", 10.0, CABLE240)], [("app-1", "C", 500)])
    inst = prepare(network, customers, load_grid_limits("national-1996"))
    assert lp_bound(inst) == pytest.approx(expected_cny, rel=1e-6)


@pytest.mark.parametrize(("spare_kva", "expected_cny"), [
    # F1 - 1 km - J1 - 1 km - C1 and F2 - 1 km - J2 - 1 km - C2, 500 kVA each, 3x240 (680,000 CNY/km).
    # 600 kVA spare each: neither feeder can do without the other (600 < 1,000), each builds its first arc whole:
    # 4 x 680,000, the MIP's optimum
    (600, 4 * 680_000),
    # 1,000 kVA spare each: either could carry both plots (were they linked), no row; the flow builds
    # 500 / 1,000 of each first arc
    (1000, 2 * (680_000 + 500 / 1000 * 680_000)),
])
def test_a_source_the_others_cannot_do_without_builds_a_whole_arc(spare_kva, expected_cny):
    network, customers = build(
        [("F1", "feeder_point", spare_kva, 0), ("F2", "feeder_point", spare_kva, 0), ("J1", "junction", 0, 0),
         ("J2", "junction", 0, 0), ("C1", "customer", 0, 500), ("C2", "customer", 0, 500)],
        [("F1J1", "F1", "J1", 1.0, CABLE240), ("J1C1", "J1", "C1", 1.0, CABLE240),
         ("F2J2", "F2", "J2", 1.0, CABLE240), ("J2C2", "J2", "C2", 1.0, CABLE240)],
        [("app-1", "C1", 500), ("app-2", "C2", 500)])
    inst = prepare(network, customers, load_grid_limits("national-1996"))
    assert lp_bound(inst) == pytest.approx(expected_cny, rel=1e-6)
    assert solve(inst, 20, 1e-6).objective_cny == pytest.approx(4 * 680_000)
