"""Rows added to the model while solving: per-customer cut rows."""

import numpy as np

from costmodel.grid.radial.build import connectivity_cuts
from tests.grid.radial.cases import arc_index, triangle


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
