"""The indexed instance and the one walk up a tree that every step shares."""

import numpy as np
import pytest

from costmodel.grid.network import load_grid_limits
from costmodel.grid.radial import evaluate, prepare
from costmodel.grid.radial.data import path_to_root, tree_parent
from tests.grid.radial.cases import CABLE70, build


def test_the_walk_up_a_tree_ends_at_its_root_or_where_a_cycle_closes():
    # options 0: 0 -> 1, 1: 1 -> 2, 2: 2 -> 3 (tail -> head); node 3 walks up through 2 and 1 to root 0
    tail = np.array([0, 1, 2])
    parent = {1: 0, 2: 1, 3: 2}
    assert path_to_root(parent, tail, 3) == ([2, 1, 0], 0)
    assert path_to_root(parent, tail, 0) == ([], 0)           # a root has no path
    # a cycle 1 -> 2 -> 1: the walk stops where it closes, at a node that is fed (so not a source)
    cyclic_tail = np.array([2, 1])
    assert path_to_root({1: 0, 2: 1}, cyclic_tail, 1) == ([0, 1], 1)


def test_a_chain_of_two_customers_is_evaluated_by_hand():
    # F - A (1 km) - B (1 km), 3x70 at 420,000 CNY/km; A takes 1,000 kVA, B 500 kVA: F-A carries 1,500
    network, customers = build([("F", "feeder_point", 5000, 0), ("A", "customer", 0, 1000), ("B", "customer", 0, 500)],
                               [("FA", "F", "A", 1.0, CABLE70), ("AB", "A", "B", 1.0, CABLE70)],
                               [("a", "A", 1000), ("b", "B", 500)])
    inst = prepare(network, customers, load_grid_limits("national-1996"))
    f, a, b = (inst.node_ids.index(n) for n in ("F", "A", "B"))
    opt = inst.options
    chosen = [int(opt.index[(opt["tail"] == f) & (opt["head"] == a)][0]), int(opt.index[(opt["tail"] == a) & (opt["head"] == b)][0])]
    assert tree_parent(inst, chosen) == {a: chosen[0], b: chosen[1]}
    tree = evaluate(inst, chosen)
    assert tree.feasible and tree.cost_cny == pytest.approx(840_000)
    assert tree.flow_kva == pytest.approx({chosen[0]: 1500, chosen[1]: 500})
    per_kva_km = (0.268 * 0.9 + 0.111 * np.sqrt(1 - 0.81)) / 1000
    assert tree.drop_pct[b] == pytest.approx((1500 + 500) * per_kva_km)
    assert list(tree.supplied_by[[f, a, b]]) == [f, f, f]
