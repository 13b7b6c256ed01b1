"""Fix-and-optimise: neighbourhoods of two sources' trees and regions around a plot, hand-built."""

import numpy as np
import pytest
from pyomo.contrib.appsi.solvers import Highs

from costmodel.grid.network import load_grid_limits
from costmodel.grid.radial import evaluate, prepare
from costmodel.grid.radial.build import build_model
from costmodel.grid.radial import solver as radial_solver
from costmodel.grid.radial.neighbourhood import neighbourhoods, regions
from costmodel.grid.radial.solver import improve_in_neighbourhoods
from tests.grid.radial.cases import CABLE70, build

# 3x70 cable: 420,000 CNY/km. F1 - 1 km - C1 - 1 km - C2 - 3 km - F2; apart from them F3 - 1 km - C3.
# Every plot 500 kVA, every feeder 5,000 kVA spare: capacity and voltage (0.29 % over 2 km) never bind.
# Optimum: F1-C1-C2 (840,000) and F3-C3 (420,000) = 1,260,000. A poor design feeds C2 from F2: 1,680,000 + 420,000.


def three_feeders():
    network, customers = build(
        [("F1", "feeder_point", 5000, 0), ("F2", "feeder_point", 5000, 0), ("F3", "feeder_point", 5000, 0),
         ("C1", "customer", 0, 500), ("C2", "customer", 0, 500), ("C3", "customer", 0, 500)],
        [("F1C1", "F1", "C1", 1.0, CABLE70), ("C1C2", "C1", "C2", 1.0, CABLE70), ("C2F2", "C2", "F2", 3.0, CABLE70),
         ("F3C3", "F3", "C3", 1.0, CABLE70)],
        [("a1", "C1", 500), ("a2", "C2", 500), ("a3", "C3", 500)])
    return prepare(network, customers, load_grid_limits("national-1996"))


def options_of(inst, *pairs):
    """The arc-options tail -> head (node ids) of the given corridors' directions."""
    opt, ids = inst.options, inst.node_ids
    return sorted(int(opt.index[(opt["tail"] == ids.index(t)) & (opt["head"] == ids.index(h))][0]) for t, h in pairs)



def improved(inst, start, cost_cny):
    """`improve_in_neighbourhoods` from design `start` on a fresh model: (design, cost, log, model)."""
    m, solver = build_model(inst), Highs()
    solver.config.load_solution = False
    log = []
    chosen, cost = improve_in_neighbourhoods(m, solver, inst, start, cost_cny, float("inf"), "plain", log, 0.0)
    return chosen, cost, log, m

def test_a_pair_of_nearby_trees_is_freed_and_a_tree_out_of_reach_stays_built():
    inst = three_feeders()
    poor = options_of(inst, ("F1", "C1"), ("F2", "C2"), ("F3", "C3"))
    hoods = neighbourhoods(inst, poor)
    ids = inst.node_ids
    # F3's tree is more than 2 corridors from the others: one neighbourhood, F1 with F2
    assert [tuple(ids[s] for s in h.freed_sources) for h in hoods] == [("F1", "F2")]
    (hood,) = hoods
    assert hood.fixed_built.tolist() == options_of(inst, ("F3", "C3"))
    # free: every direction among F1, C1, C2, F2 (never into a source), nothing into F3's tree
    free_pairs = {(ids[t], ids[h]) for t, h in zip(inst.options["tail"].to_numpy()[hood.free],
                                                   inst.options["head"].to_numpy()[hood.free])}
    assert free_pairs == {("F1", "C1"), ("C1", "C2"), ("C2", "C1"), ("F2", "C2")}


def test_fix_and_optimise_moves_a_plot_to_the_nearer_feeder_and_keeps_the_rest():
    inst = three_feeders()
    poor = options_of(inst, ("F1", "C1"), ("F2", "C2"), ("F3", "C3"))
    assert evaluate(inst, poor).cost_cny == pytest.approx(2_100_000)
    chosen, cost, log, m = improved(inst, poor, 2_100_000)
    assert cost == pytest.approx(1_260_000)
    assert sorted(chosen) == options_of(inst, ("F1", "C1"), ("C1", "C2"), ("F3", "C3"))
    assert [entry["objective_cny"] for entry in log] == [pytest.approx(1_260_000)]
    # every variable is free again for the whole MIP
    assert not any(var.fixed for var in m.build.values())


def test_an_optimal_design_comes_back_unchanged():
    inst = three_feeders()
    best = options_of(inst, ("F1", "C1"), ("C1", "C2"), ("F3", "C3"))
    chosen, cost, log, m = improved(inst, best, 1_260_000)
    assert sorted(chosen) == best and cost == pytest.approx(1_260_000) and log == []


def test_one_source_has_no_neighbourhood():
    inst = three_feeders()
    only_f3 = options_of(inst, ("F3", "C3"))
    assert neighbourhoods(inst, only_f3) == []
    assert np.isin(only_f3, inst.options.index).all()


def test_a_route_two_corridors_beyond_both_trees_needs_the_wider_margin():
    # F1 - 1 km - C1 and C2 - 3 km - F2 as before, and a street C1 - J - M - K - C2 of 4 x 0.25 km: M is two
    # corridors from either tree, outside the 1-hop neighbourhood. Optimum F1-C1-J-M-K-C2: 2 km, 840,000 CNY,
    # against 4 km (1,680,000) for the design given.
    network, customers = build(
        [("F1", "feeder_point", 5000, 0), ("F2", "feeder_point", 5000, 0), ("C1", "customer", 0, 500),
         ("C2", "customer", 0, 500), ("J", "junction", 0, 0), ("M", "junction", 0, 0), ("K", "junction", 0, 0)],
        [("F1C1", "F1", "C1", 1.0, CABLE70), ("C2F2", "C2", "F2", 3.0, CABLE70), ("C1J", "C1", "J", 0.25, CABLE70),
         ("JM", "J", "M", 0.25, CABLE70), ("MK", "M", "K", 0.25, CABLE70), ("KC2", "K", "C2", 0.25, CABLE70)],
        [("a1", "C1", 500), ("a2", "C2", 500)])
    inst = prepare(network, customers, load_grid_limits("national-1996"))
    poor = options_of(inst, ("F1", "C1"), ("F2", "C2"))
    chosen, cost, log, m = improved(inst, poor, 1_680_000)
    assert cost == pytest.approx(840_000)
    assert sorted(chosen) == options_of(inst, ("F1", "C1"), ("C1", "J"), ("J", "M"), ("M", "K"), ("K", "C2"))
    assert [entry["step"].endswith("margin 2") for entry in log] == [True]


def pairs_of(inst, options):
    ids, opt = inst.node_ids, inst.options
    return {(ids[t], ids[h]) for t, h in zip(opt["tail"].to_numpy()[options], opt["head"].to_numpy()[options])}


def test_a_region_frees_the_arcs_into_its_window_and_every_option_of_the_design():
    inst = three_feeders()
    poor = options_of(inst, ("F1", "C1"), ("F2", "C2"), ("F3", "C3"))
    hoods = regions(inst, poor, radius_hops=1)
    ids = inst.node_ids
    # windows of one corridor: C1 {F1, C1, C2}, C2 {C1, C2, F2}, C3 {F3, C3}; the dearest part of the design first:
    # C1's and C2's windows both hold F1-C1 and F2-C2 (1,680,000; the tie goes to C1, listed first), C3's F3-C3
    # (420,000)
    assert [tuple(ids[s] for s in h.freed_sources) for h in hoods] == [("F1", "F2"), ("F1", "F2"), ("F3",)]
    assert all(h.fixed_built.size == 0 for h in hoods)
    # C1's window: every direction into C1, C2 (never into a source), and the design's three corridors
    assert pairs_of(inst, hoods[0].free) == {("F1", "C1"), ("C2", "C1"), ("C1", "C2"), ("F2", "C2"), ("F3", "C3")}
    # C3's window: its own feed only, and the design's arcs (F1-C1, F2-C2 may go, not change route)
    assert pairs_of(inst, hoods[2].free) == {("F3", "C3"), ("F1", "C1"), ("F2", "C2")}


def test_a_region_moves_a_plot_to_the_nearer_feeder(monkeypatch):
    monkeypatch.setattr(radial_solver, "NEIGHBOURHOOD_LEVELS", (("regions", 1),))
    inst = three_feeders()
    poor = options_of(inst, ("F1", "C1"), ("F2", "C2"), ("F3", "C3"))
    chosen, cost, log, m = improved(inst, poor, 2_100_000)
    assert cost == pytest.approx(1_260_000)
    assert sorted(chosen) == options_of(inst, ("F1", "C1"), ("C1", "C2"), ("F3", "C3"))
    # the first window, C1's, re-routes the trees of F1 and F2 (nodes 0 and 1)
    assert [entry["step"] for entry in log] == ["neighbourhood regions (0, 1), margin 1"]
    assert not any(var.fixed for var in m.build.values())


def test_a_region_leaves_an_optimal_design_unchanged(monkeypatch):
    monkeypatch.setattr(radial_solver, "NEIGHBOURHOOD_LEVELS", (("regions", 1), ("regions", 2)))
    inst = three_feeders()
    best = options_of(inst, ("F1", "C1"), ("C1", "C2"), ("F3", "C3"))
    chosen, cost, log, m = improved(inst, best, 1_260_000)
    assert sorted(chosen) == best and cost == pytest.approx(1_260_000) and log == []


class CountingHighs(Highs):
    """HiGHS that counts its solves."""

    solves = 0

    def solve(self, model, *args, **kwargs):
        self.solves += 1
        return super().solve(model, *args, **kwargs)


def two_full_feeders():
    # F1 - 1 km - C1 - 1 km - C2 - 1 km - F2, and a detour C2 - 2 km - J - 2 km - F2; 3x70 cable, 420,000 CNY/km.
    # Each feeder has 500 kVA spare for plots of 500 kVA: each feeds one plot. Optimum F1-C1 and F2-C2, 840,000;
    # the detour F2-J-C2 instead of F2-C2 costs 1,680,000 (2,100,000 in all).
    network, customers = build(
        [("F1", "feeder_point", 500, 0), ("F2", "feeder_point", 500, 0), ("C1", "customer", 0, 500),
         ("C2", "customer", 0, 500), ("J", "junction", 0, 0)],
        [("F1C1", "F1", "C1", 1.0, CABLE70), ("C1C2", "C1", "C2", 1.0, CABLE70), ("C2F2", "C2", "F2", 1.0, CABLE70),
         ("C2J", "C2", "J", 2.0, CABLE70), ("JF2", "J", "F2", 2.0, CABLE70)],
        [("a1", "C1", 500), ("a2", "C2", 500)])
    return prepare(network, customers, load_grid_limits("national-1996"))


def test_a_proved_neighbourhood_is_not_solved_again_at_a_wider_margin(monkeypatch):
    # every margin frees the whole network for F1 and F2: the same sub-MIP, proved at margin 1, skipped at 2 and 3
    monkeypatch.setattr(radial_solver, "NEIGHBOURHOOD_LEVELS", (("pairs", 1), ("pairs", 2), ("pairs", 3)))
    inst = two_full_feeders()
    best = options_of(inst, ("F1", "C1"), ("F2", "C2"))
    m, solver = build_model(inst), CountingHighs()
    solver.config.load_solution = False
    chosen, cost = improve_in_neighbourhoods(m, solver, inst, best, 840_000, float("inf"), "plain", [], 0.0)
    assert sorted(chosen) == best and cost == pytest.approx(840_000)
    assert solver.solves == 1


def test_a_neighbourhood_whose_tree_changed_is_solved_again(monkeypatch):
    # the detour is replaced at margin 1 (first solve); the pair, now with the new tree, is solved again (second
    # solve, nothing cheaper, proved); margins 2 and 3 give that same sub-MIP and are skipped
    monkeypatch.setattr(radial_solver, "NEIGHBOURHOOD_LEVELS", (("pairs", 1), ("pairs", 2), ("pairs", 3)))
    inst = two_full_feeders()
    poor = options_of(inst, ("F1", "C1"), ("F2", "J"), ("J", "C2"))
    assert evaluate(inst, poor).cost_cny == pytest.approx(2_100_000)
    m, solver = build_model(inst), CountingHighs()
    solver.config.load_solution = False
    chosen, cost = improve_in_neighbourhoods(m, solver, inst, poor, 2_100_000, float("inf"), "plain", [], 0.0)
    assert sorted(chosen) == options_of(inst, ("F1", "C1"), ("F2", "C2")) and cost == pytest.approx(840_000)
    assert solver.solves == 2
